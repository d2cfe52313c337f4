"""Chapter 03 (deep optimizers): momentum is a memory.

    optimizers     the chapter's optimizers by name: OPTIMIZERS, make_optimizer
    landscape      the toy landscape of the paper: run_landscape, the tuned LANDSCAPE_SETTINGS, the sweep
    erase          delta momentum's erase strength against momentum (erase_study, results/03-erase-sweep.json)
    experiments    the small models and their training (train_with, DEFAULT_LR, m3_readings), Newton-Schulz
                   errors, M3's default vs Algorithm 1 on least squares (least_squares_comparison); every name
                   of the chapter (the landscape's too); the command line
    figures        render_landscape, render_landscape_runs, render_newton_schulz, render_training_runs,
                   render_m3_readings, render_erase_study, and the chapter's static previews (FIGURES)
    explorer       explore_landscape (ipywidgets)
"""
