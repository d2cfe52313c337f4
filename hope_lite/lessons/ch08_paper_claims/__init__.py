"""Chapter 08 (the paper's claims): HOPE's and Titans' ablation tables and the context-use figure, at classroom scale.

    experiments    the ablation tables (ablation, summarize, verdict, format_table) and context use
                   (context_use, loss_by_position, format_context);
                   ``python -m hope_lite.lessons.ch08_paper_claims.experiments ablation|context|table``
    figures        render_ablation, render_context, render_training, and the chapter's static previews (FIGURES)
    explorer       explore_paper_claims (ipywidgets): pick rows, see their training and context-use curves
"""
