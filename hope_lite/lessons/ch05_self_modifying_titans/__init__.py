"""Chapter 05 (self-modifying Titans): memories for k, v, eta, alpha that learn in context.

    experiments    the in-context remapping task (make_remap_batch), RemapModel, train_remap, compare_remap,
                   generated_trace, kv_cosine, the shared-input ablation (shared_input_layer), the measurement
                   the notebook quotes (measure, load_results, results_table: results/05-remap.json);
                   ``python -m hope_lite.lessons.ch05_self_modifying_titans.experiments {remap,measure}``
    figures        repeated_input_projections, update_magnitudes, render_static_vs_adaptive,
                   render_remap_training, render_drift, render_update_magnitudes, and the static previews (FIGURES)
    explorer       explore_self_modification (ipywidgets)
"""
