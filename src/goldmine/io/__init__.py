"""Every file format goldmine reads or writes, and nothing that computes.

``opener`` (:func:`open_events` says what a file is; the only module that looks at bytes) ·
``lhe`` (Les Houches events with MadGraph ``<rwgt>`` weights) · ``particles`` (showered
final states) · ``delphes`` (Delphes ROOT through uproot) · ``events`` (the event and setup
file, MadMiner's HDF5 layout, read and written both ways) · ``samples`` (training samples) ·
``inspection`` (summaries for ``goldmine inspect``) · ``atomic`` (outputs appear whole or not
at all).
"""

from goldmine.io.opener import EventFile, open_events

__all__ = ["EventFile", "open_events"]
