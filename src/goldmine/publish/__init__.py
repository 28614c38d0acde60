"""Published likelihoods: goldmine's own in HEPData form, and reinterpretation of pyhf workspaces and signal patches.

- :mod:`~goldmine.publish.eft`: the histogram likelihood as background-only workspace + signal patchset, and in θ
- :mod:`~goldmine.publish.likelihood`: a workspace as arrays for one compiled JAX −2 log L with exact gradient
- :mod:`~goldmine.publish.fits`: converged fits (two minimisers) and pyhf's asymptotic q̃_μ CLs, upper limits
- :mod:`~goldmine.publish.reinterpret`: patches (JSON patch or patchset member), every patch in parallel
- :mod:`~goldmine.publish.contour`: the exclusion contour over the mass plane
- :mod:`~goldmine.publish.signal`: a goldmine signal in a published workspace, one patch per θ
"""

from goldmine.publish.reinterpret import load_patches, reinterpret

__all__ = ["load_patches", "reinterpret"]
