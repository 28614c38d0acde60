"""A HistFactory likelihood compiled once per shape: JAX value and exact gradient of −2 log L.

pyhf builds the model (parameter layout, initial values, bounds, fixed flags, constraint
widths and auxiliary data); this module turns the model's specification into a few padded
arrays and evaluates −2 log L and its gradient with one jitted JAX function. The arrays are
arguments, not constants, so every workspace whose padded shapes agree reuses one compiled
function: the 650 sbottom patches need a handful of compilations, not 650.

The main model follows pyhf 0.7's defaults: ``normsys`` modifiers interpolate with code 4
(polynomial inside ``|α| < 1``, exponential outside) and ``histosys`` with code 4p
(polynomial inside, linear outside); ``normfactor``, ``lumi``, ``staterror``, ``shapesys``
and ``shapefactor`` multiply. Main and auxiliary terms are Poisson (continuous, as pyhf) or
Gaussian exactly as pyhf's ``Model.logpdf``; ``tests/test_reinterpret.py`` checks value and
expected data against pyhf.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import numpy as np
import pyhf

from goldmine.exceptions import ReinterpretError

__all__ = ["Likelihood", "build_likelihood"]

_MULTIPLICATIVE_PER_SAMPLE = {"normfactor", "lumi"}
_MULTIPLICATIVE_PER_BIN = {"staterror", "shapesys", "shapefactor"}
_SUPPORTED = _MULTIPLICATIVE_PER_SAMPLE | _MULTIPLICATIVE_PER_BIN | {"normsys", "histosys"}
_INTERPOLATION = {"normsys": {"interpcode": "code4"}, "histosys": {"interpcode": "code4p"}}


def _jax():
    """Import JAX in 64-bit mode (fits at 1e-12 need double precision) on the CPU."""
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    import jax

    jax.config.update("jax_enable_x64", True)
    return jax


def _pad(n: int, block: int) -> int:
    """Round ``n`` up to a multiple of ``block`` (at least one block) so that similar models share a shape."""
    return max(block, -(-n // block) * block)


def _padded(values, shape, fill: float = 0.0, dtype=float) -> np.ndarray:
    """``values`` in the leading corner of an array of ``shape`` filled with ``fill``."""
    out = np.full(shape, fill, dtype=dtype)
    values = np.asarray(values, dtype=dtype)
    out[tuple(slice(0, s) for s in values.shape)] = values
    return out


def _code4_coefficients(hi: np.ndarray, lo: np.ndarray) -> np.ndarray:
    """Coefficients a_1..a_6 of 1 + Σ a_i α^i matching hi^α and lo^-α with two derivatives at α = ±1."""
    powers = np.arange(1, 7)
    rows = []
    for alpha in (1.0, -1.0):
        rows.append(alpha**powers)
        rows.append(powers * alpha ** (powers - 1))
        rows.append(powers * (powers - 1) * alpha ** (powers - 2))
    matrix = np.array(rows)
    log_hi, log_lo = np.log(hi), np.log(lo)
    # at α = +1: value, first and second derivative of hi^α; at α = -1 those of lo^-α
    targets = np.stack([hi - 1, hi * log_hi, hi * log_hi**2, lo - 1, -lo * log_lo, lo * log_lo**2], axis=1)
    return np.linalg.solve(matrix, targets.T).T


@dataclass(frozen=True)
class Likelihood:
    """One workspace as arrays for the compiled −2 log L, plus the fit set-up from pyhf.

    Attributes:
        arrays: padded JAX arrays, the arguments of the compiled function.
        n_pars_padded: length of the padded parameter vector.
        n_aux: auxiliary data (before padding).
        n_bins: main-model bins (before padding).
        init: suggested initial parameter values (pyhf's order).
        bounds: parameter bounds, shape ``(n, 2)``.
        fixed: parameters held at their initial value.
        poi_index: index of the parameter of interest.
        data: observed main data followed by the auxiliary data, as ``pyhf.Workspace.data``.
        parameter_names: pyhf's parameter labels.
    """

    arrays: dict
    n_pars_padded: int
    n_aux: int
    n_bins: int
    init: np.ndarray
    bounds: np.ndarray
    fixed: np.ndarray
    poi_index: int
    data: np.ndarray
    parameter_names: tuple[str, ...]

    def twice_nll(self, pars: np.ndarray, data: np.ndarray) -> tuple[float, np.ndarray]:
        """−2 log L and its gradient with respect to all parameters.

        Args:
            pars: parameter values, pyhf's order.
            data: main data followed by auxiliary data.

        Returns:
            The value and the gradient (numpy).
        """
        return self.objective(data, np.ones(len(self.init), dtype=bool), pars)(pars)

    def objective(self, data: np.ndarray, free: np.ndarray, base: np.ndarray) -> Callable:
        """−2 log L and its gradient as a function of the free parameters only, for a minimiser.

        Args:
            data: main data followed by auxiliary data.
            free: mask of the parameters the minimiser varies.
            base: values of all parameters (the fixed ones keep theirs).

        Returns:
            ``f(x) -> (value, gradient)`` with ``x`` and the gradient over the free parameters.
        """
        jnp = _jax().numpy
        value_and_grad = _compiled()[0]
        main, aux = (jnp.asarray(part) for part in self._split(data))
        index = np.flatnonzero(free)
        pars = self._padded_pars(base)

        def function(x: np.ndarray) -> tuple[float, np.ndarray]:
            pars[index] = x
            out = np.asarray(value_and_grad(pars, (main, aux), self.arrays))
            return float(out[0]), out[1 + index]

        return function

    def expected_data(self, pars: np.ndarray) -> np.ndarray:
        """Expected main data followed by expected auxiliary data (pyhf's ``Model.expected_data``)."""
        main, aux = _compiled()[1](self._padded_pars(pars), self.arrays)
        return np.concatenate([np.asarray(main)[: self.n_bins], np.asarray(aux)[: self.n_aux]])

    def _padded_pars(self, pars: np.ndarray) -> np.ndarray:
        padded = np.ones(self.n_pars_padded)
        padded[: len(self.init)] = pars
        return padded

    def _split(self, data: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        data = np.asarray(data, dtype=float)
        main = np.zeros(self.arrays["nominal"].shape[1])
        main[: self.n_bins] = data[: self.n_bins]
        aux = np.zeros(self.arrays["aux_zeros"].shape[0])
        aux[: len(data) - self.n_bins] = data[self.n_bins :]
        return main, aux


def build_likelihood(workspace: pyhf.Workspace) -> Likelihood:
    """Build pyhf's model of ``workspace`` (pyhf 0.7 default interpolation) and its compiled arrays.

    Args:
        workspace: a workspace whose measurement names the parameter of interest.

    Returns:
        The likelihood; ``twice_nll`` evaluates it with an exact gradient.

    Raises:
        ReinterpretError: a modifier type or interpolation this module does not implement.
    """
    model = workspace.model(modifier_settings=_INTERPOLATION, validate=False)
    config = model.config
    if config.poi_index is None:
        raise ReinterpretError(f"workspace measurement {workspace.measurement_names} names no parameter of interest")
    n_pars = config.npars
    bins = {channel: config.channel_slices[channel] for channel in config.channels}
    n_bins = sum(config.channel_nbins.values())

    nominal, row_sources, bin_sources = [], [], []
    histo = {"param": [], "row": [], "up": [], "dn": []}
    norm = {"param": [], "hi": [], "lo": []}
    for channel in model.spec["channels"]:
        window = bins[channel["name"]]
        for sample in channel["samples"]:
            row = len(nominal)
            nom = np.zeros(n_bins)
            nom[window] = sample["data"]
            nominal.append(nom)
            scalars, per_bin = [], [[] for _ in range(n_bins)]
            for modifier in sample["modifiers"]:
                kind, name = modifier["type"], modifier["name"]
                if kind not in _SUPPORTED:
                    raise ReinterpretError(
                        f"channel {channel['name']!r}, sample {sample['name']!r}: modifier {name!r} has type "
                        f"{kind!r}; supported: {sorted(_SUPPORTED)}")
                start = config.par_slice(name).start
                if kind in _MULTIPLICATIVE_PER_SAMPLE:
                    scalars.append(start)
                elif kind in _MULTIPLICATIVE_PER_BIN:
                    for offset, b in enumerate(range(window.start, window.stop)):
                        per_bin[b].append(start + offset)
                elif kind == "normsys":
                    hi, lo = modifier["data"]["hi"], modifier["data"]["lo"]
                    if hi <= 0 or lo <= 0:
                        raise ReinterpretError(f"normsys {name!r} on sample {sample['name']!r}: hi and lo must be > 0")
                    scalars.append(("normsys", len(norm["param"])))
                    norm["param"].append(start)
                    norm["hi"].append(hi)
                    norm["lo"].append(lo)
                else:  # histosys: additive deltas
                    up, dn = np.zeros(n_bins), np.zeros(n_bins)
                    up[window] = np.asarray(modifier["data"]["hi_data"]) - sample["data"]
                    dn[window] = np.asarray(sample["data"]) - np.asarray(modifier["data"]["lo_data"])
                    histo["param"].append(start)
                    histo["row"].append(row)
                    histo["up"].append(up)
                    histo["dn"].append(dn)
            row_sources.append(scalars)
            bin_sources.append(per_bin)

    n_pars_padded = _pad(n_pars, 16)
    n_bins_padded = _pad(n_bins, 8)
    n_rows = _pad(len(nominal), 8)
    n_norm = _pad(len(norm["param"]), 64)
    n_histo = _pad(len(histo["param"]), 256)
    # multiplier sources: parameters, then normsys factors, then a constant 1 (the padding)
    one = n_pars_padded + n_norm
    row_index = np.full((n_rows, _pad(max(map(len, row_sources), default=1), 4)), one, dtype=np.int64)
    for r, sources in enumerate(row_sources):
        for k, source in enumerate(sources):
            row_index[r, k] = n_pars_padded + source[1] if isinstance(source, tuple) else source
    depth = _pad(max((len(f) for row in bin_sources for f in row), default=1), 2)
    bin_index = np.full((n_rows, n_bins_padded, depth), one, dtype=np.int64)
    for r, row in enumerate(bin_sources):
        for b, sources in enumerate(row):
            bin_index[r, b, : len(sources)] = sources
    # one-hot matrices: gathers and scatters as matrix products, whose gradients are cheap on a CPU
    histo_pick = np.zeros((n_histo, n_pars_padded))
    histo_pick[np.arange(len(histo["param"])), histo["param"]] = 1.0
    histo_place = np.zeros((n_rows, n_histo))
    histo_place[histo["row"], np.arange(len(histo["row"]))] = 1.0
    norm_pick = np.zeros((n_norm, n_pars_padded))
    norm_pick[np.arange(len(norm["param"])), norm["param"]] = 1.0

    hi, lo = np.asarray(norm["hi"], dtype=float), np.asarray(norm["lo"], dtype=float)
    up = np.reshape(np.asarray(histo["up"], dtype=float), (-1, n_bins))
    dn = np.reshape(np.asarray(histo["dn"], dtype=float), (-1, n_bins))

    normal = {"param": [], "aux": [], "sigma": []}
    poisson = {"param": [], "aux": [], "factor": []}
    aux_offset = 0
    for name in config.auxdata_order:
        paramset = config.param_set(name)
        start = config.par_slice(name).start
        size = paramset.n_parameters
        target = normal if paramset.pdf_type == "normal" else poisson
        target["param"].extend(range(start, start + size))
        target["aux"].extend(range(aux_offset, aux_offset + size))
        if paramset.pdf_type == "normal":
            normal["sigma"].extend(getattr(paramset, "sigmas", None) or [1.0] * size)
        else:
            poisson["factor"].extend(paramset.factors)
        aux_offset += size
    n_aux = aux_offset
    aux_padded = _pad(n_aux, 32)
    n_normal, n_poisson = _pad(len(normal["param"]), 32), _pad(len(poisson["param"]), 32)

    arrays = {
        "aux_zeros": np.zeros(aux_padded),
        "nominal": _padded(nominal, (n_rows, n_bins_padded)),
        "bin_mask": _padded(np.ones(n_bins), n_bins_padded),
        "histo_pick": histo_pick,
        "histo_place": histo_place,
        "histo_sum": _padded(0.5 * (up + dn), (n_histo, n_bins_padded)),
        "histo_asym": _padded(0.0625 * (up - dn), (n_histo, n_bins_padded)),
        "histo_up": _padded(up, (n_histo, n_bins_padded)),
        "histo_dn": _padded(dn, (n_histo, n_bins_padded)),
        "norm_pick": norm_pick,
        "norm_log_hi": _padded(np.log(hi), n_norm),
        "norm_log_lo": _padded(np.log(lo), n_norm),
        "norm_coefficients": _padded(_code4_coefficients(hi, lo) if len(hi) else np.zeros((0, 6)), (n_norm, 6)),
        "row_index": row_index,
        "bin_index": bin_index,
        "normal_param": _padded(normal["param"], n_normal, dtype=np.int64),
        "normal_aux": _padded(normal["aux"], n_normal, dtype=np.int64),
        "normal_sigma": _padded(normal["sigma"], n_normal, fill=1.0),
        "normal_mask": _padded(np.ones(len(normal["param"])), n_normal),
        "poisson_param": _padded(poisson["param"], n_poisson, dtype=np.int64),
        "poisson_aux": _padded(poisson["aux"], n_poisson, dtype=np.int64),
        "poisson_factor": _padded(poisson["factor"], n_poisson, fill=1.0),
        "poisson_mask": _padded(np.ones(len(poisson["param"])), n_poisson),
    }
    jnp = _jax().numpy
    return Likelihood(
        arrays={key: jnp.asarray(value) for key, value in arrays.items()},
        n_pars_padded=n_pars_padded,
        n_aux=n_aux,
        n_bins=n_bins,
        init=np.asarray(config.suggested_init(), dtype=float),
        bounds=np.asarray(config.suggested_bounds(), dtype=float),
        fixed=np.asarray(config.suggested_fixed(), dtype=bool),
        poi_index=int(config.poi_index),
        data=np.asarray(workspace.data(model), dtype=float),
        parameter_names=tuple(config.par_names),
    )


@cache
def _compiled():
    """The jitted ((value, gradient...) of −2 log L in one array, expected data); built on first use in each process."""
    jax = _jax()
    jnp = jax.numpy
    from jax.scipy.special import gammaln, xlogy

    def rates(pars, arrays):
        alpha = (arrays["histo_pick"] @ pars)[:, None]
        square = alpha * alpha
        inside = alpha * arrays["histo_sum"] + square * arrays["histo_asym"] * (15.0 + square * (3.0 * square - 10.0))
        delta = jnp.where(alpha > 1.0, alpha * arrays["histo_up"],
                          jnp.where(alpha < -1.0, alpha * arrays["histo_dn"], inside))
        shifted = arrays["nominal"] + arrays["histo_place"] @ delta

        theta = arrays["norm_pick"] @ pars
        coefficients = arrays["norm_coefficients"]
        polynomial = coefficients[:, 5]
        for i in range(4, -1, -1):
            polynomial = coefficients[:, i] + theta * polynomial
        exponent = jnp.where(theta >= 1.0, theta * arrays["norm_log_hi"], -theta * arrays["norm_log_lo"])
        norm_factors = jnp.where(jnp.abs(theta) >= 1.0, jnp.exp(exponent), 1.0 + theta * polynomial)

        sources = jnp.concatenate([pars, norm_factors, jnp.ones(1)])
        row_factor = jnp.prod(sources[arrays["row_index"]], axis=1)
        bin_factor = jnp.prod(sources[arrays["bin_index"]], axis=2)
        return jnp.sum(shifted * row_factor[:, None] * bin_factor, axis=0)

    def expected_aux(pars, arrays):
        aux = jnp.zeros_like(arrays["aux_zeros"])
        aux = aux.at[arrays["normal_aux"]].add(arrays["normal_mask"] * pars[arrays["normal_param"]])
        return aux.at[arrays["poisson_aux"]].add(
            arrays["poisson_mask"] * pars[arrays["poisson_param"]] * arrays["poisson_factor"])

    def twice_nll(pars, data, arrays):
        main, aux = data
        # padded bins (mask 0) get rate 1 so that no 0/0 reaches the gradient
        bins = arrays["bin_mask"]
        nu = jnp.where(bins > 0, rates(pars, arrays), 1.0)
        log_main = jnp.sum(bins * (xlogy(main, nu) - nu - gammaln(main + 1.0)))
        x = aux[arrays["normal_aux"]]
        sigma = arrays["normal_sigma"]
        pull = (x - pars[arrays["normal_param"]]) / sigma
        log_normal = jnp.sum(arrays["normal_mask"] * (-0.5 * pull**2 - jnp.log(sigma) - 0.5 * jnp.log(2 * jnp.pi)))
        n = aux[arrays["poisson_aux"]]
        lam = jnp.where(arrays["poisson_mask"] > 0, pars[arrays["poisson_param"]] * arrays["poisson_factor"], 1.0)
        log_poisson = jnp.sum(arrays["poisson_mask"] * (xlogy(n, lam) - lam - gammaln(n + 1.0)))
        return -2.0 * (log_main + log_normal + log_poisson)

    def expected(pars, arrays):
        return rates(pars, arrays), expected_aux(pars, arrays)

    value_and_grad = jax.value_and_grad(twice_nll)

    def value_then_gradient(pars, data, arrays):
        # one array, one transfer: each call's cost is mostly dispatch and copies, not arithmetic
        value, gradient = value_and_grad(pars, data, arrays)
        return jnp.concatenate([value[None], gradient])

    return jax.jit(value_then_gradient), jax.jit(expected)
