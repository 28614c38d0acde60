"""Inference: Fisher information, expected limits and HistFactory models; coverage of the
intervals from toys (:mod:`~goldmine.inference.coverage`) and the Neyman construction that
calibrates them (:mod:`~goldmine.inference.neyman`), composed for an analysis in
:mod:`~goldmine.inference.toys`; the learned ratios' calibration on independent events at the
reference point (:mod:`~goldmine.inference.ratio_calibration`)."""
