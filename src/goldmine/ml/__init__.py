"""Neural estimators of the likelihood ratio and score, trained on gold-mined samples.

The method names live here, free of torch, so that the command line starts fast.
"""

#: methods that learn the score at a reference point (one network x → t̂).
SCORE_METHODS = ("sally", "sallino")
#: parameterised-ratio methods (one network (x, θ₀) → log r̂(x|θ₀, θ_ref)).
RATIO_METHODS = ("carl", "rolr", "rascal", "alice", "alices", "cascal")
#: every trainable method.
METHODS = SCORE_METHODS + RATIO_METHODS
