"""goldmine: mining gold from particle-physics simulators.

A simulation-based measurement of EFT coefficients θ, as a library and a Snakemake
workflow. The data path, one module per arrow (``goldmine <stage>`` runs each arrow)::

    config.yaml      --goldmine.config------------->  validated analysis
    parameters       --goldmine.physics------------>  setup.h5: benchmarks and morphing
    setup.h5         --goldmine.generation--------->  LHE, one weight per benchmark (goldmine.io.lhe)
    LHE              --goldmine.shower------------->  particles.h5, Pythia 8 (goldmine.io.particles)
    LHE | particles | Delphes ROOT
                     --goldmine.detection---------->  events.h5, MadMiner's layout (goldmine.io.events)
    events.h5        --goldmine.mining------------->  samples.h5: x, θ, r(x,z), t(x,z) (goldmine.io.samples)
    samples.h5       --goldmine.ml----------------->  models: state_dict + JSON metadata
    events.h5 + models
                     --goldmine.inference---------->  fisher.json, limits.json, pyhf workspace
    results          --goldmine.plotting----------->  plots and the report

Below the path: :mod:`goldmine.io` holds every file format (and :func:`goldmine.io.open_events`,
which recognises them), :mod:`goldmine.physics` the parameters, morphing, processes and the
reconstructed-object record, :mod:`goldmine.exceptions` the one error type, and
:mod:`goldmine.stages` the read → library call → write functions the command line runs.

Example:
    >>> import goldmine
    >>> goldmine.__version__ != ""
    True
"""

from importlib.metadata import version as _version

__version__ = _version("goldmine")

__all__ = ["__version__"]
