"""Chapter 05 (self-modifying Titans): memories for k, v, eta, alpha that learn in context.

    experiments    the in-context remapping task (make_remap_batch), RemapModel, train_remap, compare_remap,
                   generated_trace; ``python -m hope_lite.lessons.ch05_self_modifying_titans.experiments remap``
    figures        repeated_input_projections, update_magnitudes, render_static_vs_adaptive,
                   render_remap_training, render_drift, render_update_magnitudes, and the static previews (FIGURES)
    explorer       explore_self_modification (ipywidgets)
"""
