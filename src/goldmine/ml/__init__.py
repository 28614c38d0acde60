"""Neural estimators of the likelihood ratio and score, trained on gold-mined samples.

The method names live here, free of torch, so that the command line starts fast.
"""

__all__ = [
    "DENSITY_METHODS",
    "METHODS",
    "MORPHING_AWARE_PREFIX",
    "RATIO_METHODS",
    "SCORE_METHODS",
    "family_of",
    "sample_of",
]

#: methods that learn the score at a reference point (one network x → t̂).
SCORE_METHODS = ("sally", "sallino")
#: parameterised-ratio methods (one network (x, θ₀) → log r̂(x|θ₀, θ_ref)).
RATIO_METHODS = ("carl", "rolr", "rascal", "alice", "alices", "cascal")
#: density estimators (a conditional flow p̂(x|θ); log r̂ is a difference of log densities).
DENSITY_METHODS = ("nde", "scandal")
#: a ratio method with this prefix uses the morphing-aware network (exact θ dependence).
MORPHING_AWARE_PREFIX = "morphing_"
#: every trainable method.
METHODS = (SCORE_METHODS + RATIO_METHODS + tuple(MORPHING_AWARE_PREFIX + m for m in RATIO_METHODS)
           + DENSITY_METHODS)


def family_of(method: str) -> str:
    """The family of a method, which names its settings in the config: "local_score", "ratio" or "density".

    Example:
        >>> family_of("sally"), family_of("rascal"), family_of("morphing_alices"), family_of("scandal")
        ('local_score', 'ratio', 'ratio', 'density')
    """
    base = method.removeprefix(MORPHING_AWARE_PREFIX)
    for family, methods in (("local_score", SCORE_METHODS), ("ratio", RATIO_METHODS), ("density", DENSITY_METHODS)):
        if base in methods and (base == method or family == "ratio"):
            return family
    raise ValueError(f"unknown method {method!r}; methods are {list(METHODS)}")


def sample_of(method: str) -> str:
    """The training sample a method learns from: "local_score", or "ratio" (density methods use its θ₀ part).

    Example:
        >>> sample_of("sallino"), sample_of("nde")
        ('local_score', 'ratio')
    """
    return "local_score" if family_of(method) == "local_score" else "ratio"
