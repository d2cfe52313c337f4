"""Chapter 00 (the index): levels of a nested system, drawn from a real model and optimizer.

    figures    render_levels (the level diagram, also used by chapters 01-02) and the chapter's preview
"""
