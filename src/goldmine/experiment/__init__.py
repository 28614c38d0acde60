"""Experiment design: choose the setting of an experiment variable (√s) that teaches the most about θ.

    design.range ──propose (Sobol, then the GP's q-batch noisy EI)──> settings of a round
    setting      ──generate → detect (the analysis's own stages)─────> events.h5
    events.h5    ──truth Fisher information + Gaussian prior─────────> EIG ± MC error
    all of them  ──GP surrogate on a grid───────────────────────────> design.json, design.png
    recommended, naive setting ──pseudo-data → infer --data──────> measurement.json

:mod:`goldmine.experiment.eig` (EIG from a Fisher matrix), :mod:`goldmine.experiment.surrogate`
(BoTorch's GP and acquisition), :mod:`goldmine.experiment.loop` (the evaluations and the loop),
:mod:`goldmine.experiment.measurement` (the measurement at the recommended setting against a naive one).
:func:`goldmine.api.design` and ``goldmine design run`` run it in one process;
``workflow/rules/design.smk`` runs each step as a job. Needs the ``design`` extra (BoTorch).
"""
