"""Chapter 07 (HOPE): self-modifying Titans + continuum memory as a language model.

    experiments    the comparison of four models of equal size on the same bytes (compare, summarize,
                   format_table, verdict, load_results);
                   ``python -m hope_lite.lessons.ch07_hope.experiments compare|table``
    level_stream   LevelStream: a text read call after call under an UpdateRecorder
    overfit        the 2 KB capacity check; ``python -m hope_lite.lessons.ch07_hope.overfit overfit``
    figures        render_compare, render_level_stream, and the chapter's static previews (FIGURES)
    explorer       explore_hope_levels (ipywidgets)
"""
