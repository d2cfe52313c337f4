"""Chapter 06 (continuum memory): a spectrum of update frequencies.

    experiments    recorded and expected update times, update_norms (each update's step before the clip),
                   timeline_run, magnitude_summary, the stream of tasks and its learners,
                   forgetting_run / forgetting_table;
                   ``python -m hope_lite.lessons.ch06_continuum_memory.experiments forgetting``
    figures        update_grid, render_token_timeline, timeline_figure, render_forgetting, render_hope_timeline,
                   explorer_periods, and the chapter's static previews (FIGURES)
    explorer       explore_cms_timeline (ipywidgets)
"""
