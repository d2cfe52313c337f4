"""Chapter 04 (Titans): learning to memorize at test time.

    experiments    make_shift_stream, make_needle_stream (seeded streams), titans_memory, stream_trace,
                   shift_run, max_stable_theta, needle_curve, chunk_sweep
    figures        render_shift_run, render_momentum_forgetting, render_needle, render_chunk_sweep, and the
                   chapter's static previews (FIGURES)
    explorer       explore_titans_memory (ipywidgets)
"""
