"""From particles to observables: ``detector`` (the parametrised muon detector), ``cards``
(detector cards with efficiency and resolution formulas), ``jets`` (FastJet), ``observables``
(built-in and expression observables, cuts, efficiencies) and ``expressions`` (the one safe
evaluator of config expressions)."""
