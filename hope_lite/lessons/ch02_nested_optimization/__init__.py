"""Chapter 02 (nested optimization): a training loop is nested memories.

    experiments    momentum_share / momentum_horizon / momentum_impulse_weights (momentum's short memory),
                   NestedToyModel, nested_training_run (a run under an UpdateRecorder), step_timeline
    figures        render_momentum_memory, render_step_timeline, and the chapter's static previews (FIGURES)
    explorer       explore_nested_levels (ipywidgets)
"""
