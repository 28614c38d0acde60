"""Every file format goldmine reads or writes, and nothing that computes.

``lhe`` (Les Houches events with MadGraph ``<rwgt>`` weights) · ``particles`` (showered
final states) · ``delphes`` (Delphes ROOT through uproot) · ``events`` (the event and setup
file, MadMiner's HDF5 layout) · ``samples`` (training samples) · ``inspection`` (summaries
for ``goldmine inspect``) · ``atomic`` (outputs appear whole or not at all).
"""
