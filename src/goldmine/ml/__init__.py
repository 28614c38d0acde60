"""Neural estimators of the likelihood ratio and score, trained on gold-mined samples."""
