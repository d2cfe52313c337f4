"""Chapter 09 (memory benchmarks): the paper's synthetic tests at classroom scale, and what a slow level keeps.

    benchmarks     the benchmark families (run_family, summarize, claims, format_table, format_claims);
                   ``python -m hope_lite.lessons.ch09_memory_benchmarks.benchmarks formal|mad|table``
    spectrum       the designed experiment: a stream A | B | A, the CMS against memories without a spectrum,
                   each level frozen or reset (spectrum_run, spectrum_experiment, format_spectrum);
                   ``python -m hope_lite.lessons.ch09_memory_benchmarks.spectrum run|table``
    figures        render_benchmark, render_spectrum, replay, render_replay, and the static previews (FIGURES)
    explorer       explore_spectrum (ipywidgets): replay the stream, one learner and one change at a time
"""
