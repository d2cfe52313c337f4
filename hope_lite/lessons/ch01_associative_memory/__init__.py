"""Chapter 01 (associative memory): a memory is an optimizer.

    experiments    make_kv_pairs (keys of a chosen pairwise cosine) and the chapter's measurements:
                   retrieval_errors, capacity_sweep, interference_sweep, forgetting_curves, deep_vs_matrix
    figures        render_retrieval, render_capacity, render_interference, render_forgetting,
                   render_deep_vs_matrix, and the chapter's static previews (FIGURES)
    explorer       explore_associative_memory (ipywidgets)
"""
