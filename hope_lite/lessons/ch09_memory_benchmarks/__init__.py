"""Chapter 09 (memory benchmarks): the paper's synthetic tests at classroom scale, and what a slow level keeps.

    benchmarks     the benchmark families: formal languages, MAD, needles in haystacks (run_family, summarize,
                   claims, format_table, format_claims);
                   ``python -m hope_lite.lessons.ch09_memory_benchmarks.benchmarks formal|mad|niah|table``
    continual      continual learning on a class-incremental stream: the CMS spectrum, its levels at one period,
                   one MLP, EWC and in-context learning, a forgetting matrix each (continual_run,
                   continual_experiment, format_continual);
                   ``python -m hope_lite.lessons.ch09_memory_benchmarks.continual run|table``
    levels         the levels ablation on that stream: 1-4 CMS levels and the slowest period, accuracy against
                   samples per second; ``python -m hope_lite.lessons.ch09_memory_benchmarks.levels run|table``
    needle_levels  the same ablation on the pass-key needle (HOPE at equal parameters), long-context accuracy
                   against bytes read per second;
                   ``python -m hope_lite.lessons.ch09_memory_benchmarks.needle_levels run|table``
    spectrum       the designed experiment: a stream A | B | A, the CMS against memories without a spectrum,
                   each level frozen or reset (spectrum_run, spectrum_experiment, format_spectrum);
                   ``python -m hope_lite.lessons.ch09_memory_benchmarks.spectrum run|table``
    figures        render_benchmark, render_needles, render_continual, render_levels (both ablations),
                   render_spectrum, replay, render_replay,
                   and the static previews (FIGURES)
    explorer       explore_spectrum (ipywidgets): replay the stream, one learner and one change at a time
"""
