"""goldmine: mining gold from particle-physics simulators.

A simulation-based measurement of EFT coefficients θ, as a library and a Snakemake
workflow. The data path, one module per arrow (``goldmine <stage>`` runs each arrow)::

    config.yaml      --goldmine.config------------->  validated analysis
    parameters       --goldmine.physics------------>  setup.h5: benchmarks and morphing
    setup.h5         --goldmine.generation--------->  LHE, one weight per benchmark (goldmine.io.lhe)
                     --goldmine.madgraph----------->  MadGraph's cards and MG5 script (MadGraph writes the LHE)
    LHE              --goldmine.shower------------->  particles.h5, Pythia 8 (goldmine.io.particles)
    LHE | particles | Delphes ROOT
                     --goldmine.detection---------->  events.h5, MadMiner's layout (goldmine.io.events)
    events.h5        --goldmine.mining------------->  samples.h5: x, θ, r(x,z), t(x,z) (goldmine.io.samples)
    samples.h5       --goldmine.ml----------------->  models: state_dict + JSON metadata
    events.h5        --goldmine.inference.observed->  data.h5: unit-weight pseudo-data at a chosen θ
    events.h5 + models (+ data.h5)
                     --goldmine.inference---------->  fisher.json, limits.json (+ observed), pyhf workspace
                     --goldmine.inference.toys-> coverage.json: coverage from toys
    results          --goldmine.plotting----------->  plots and the report
    limits.json      --goldmine.summary------------>  the end-of-run table, the report's front page
    config.yaml with `design:`
                     --goldmine.experiment--------->  design.json: the √s of most expected information
                                                      (each evaluation: generation → detection → Fisher)
    pyhf workspace + limits.json
                     --goldmine.publish------------>  BkgOnly.json + patchset.json (HEPData), EFT workspace
    events.h5 + a published workspace
                     --goldmine.publish.signal----->  signal patches over θ (goldmine.publish: CLs)

Below the path: :mod:`goldmine.io` holds every file format (and :func:`goldmine.io.open_events`,
which recognises them), :mod:`goldmine.physics` the parameters, morphing, processes and the
reconstructed-object record, :mod:`goldmine.exceptions` the one error type, and
:mod:`goldmine.stages` the read → library call → write functions the command line runs.

From Python, :mod:`goldmine.api` runs the same stages on configurations and files without
Snakemake; its names are here at the top level: :func:`load_config`, :func:`open` (what is
this file?), :func:`setup`, :func:`generate`, :func:`shower_events`, :func:`detect`,
:func:`merge`, :func:`mine`, :func:`train`, :func:`pseudodata`, :func:`infer`,
:func:`fisher_information`, :func:`plot_limits`, :func:`design` (experiment design) and
:func:`publish_likelihood` (the histogram likelihood as pyhf workspace and patchset). They are
imported on first use, so that the command line starts fast.

Example:
    >>> import goldmine
    >>> goldmine.__version__ != ""
    True
    >>> goldmine.load_config("config/config.yaml")["process"]["name"]
    'ee_mumu'
"""

from importlib.metadata import version as _version

__version__ = _version("goldmine")

_API = ("design", "detect", "fisher_information", "generate", "infer", "load_config", "merge", "mine", "open",
        "plot_limits", "pseudodata", "publish_likelihood", "setup", "shower_events", "train")

__all__ = ["__version__", *_API]


def __getattr__(name: str):
    if name in _API:
        from goldmine import api

        return getattr(api, name)
    raise AttributeError(f"module 'goldmine' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_API))
