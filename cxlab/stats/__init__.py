"""Statistics on sufficient statistics: pure functions (numpy / scipy / statsmodels only) returning
frozen result records. The engine computes sums; nothing here sees rows (except the bootstrap)."""

from cxlab.stats.bayes import BayesResult, bayes_means, bayes_proportions
from cxlab.stats.bootstrap import bootstrap_ci
from cxlab.stats.cuped import cuped_diff, cuped_stratified, theta
from cxlab.stats.did import did, did_paired, parallel_trends
from cxlab.stats.mean import mean_diff, mean_lift, ratio_diff, ratio_lift
from cxlab.stats.multiple import adjust_pvalues, fixed_sequence, gatekeeper
from cxlab.stats.power import (
    cuped_sd,
    mde_means,
    mde_proportions,
    power_means,
    power_proportions,
    ratio_from_share,
    ratio_sd,
    sample_size_cuped,
    sample_size_means,
    sample_size_proportions,
    sample_size_ratio,
)
from cxlab.stats.proportion import fisher_exact, proportion_ci, proportion_diff, proportion_lift
from cxlab.stats.quantile import quantile_diff, quantile_of
from cxlab.stats.results import P_FLOOR, Estimate, floor_p
from cxlab.stats.sequential import always_valid_diff
from cxlab.stats.srm import SRMResult, srm_check
from cxlab.stats.sufficient import ProportionStats, RatioStats, RegressionAdjustedStats, SampleMeanStats, ValueCounts, from_row
from cxlab.stats.uplift import ScoreBins, qini_coefficient, qini_curve, qini_normalised, uplift_at_k, uplift_by_bin

__all__ = [
    "P_FLOOR", "floor_p",
    "adjust_pvalues", "always_valid_diff", "bayes_means", "bayes_proportions", "BayesResult", "bootstrap_ci",
    "cuped_diff", "cuped_sd", "cuped_stratified", "did", "did_paired", "Estimate", "fisher_exact",
    "fixed_sequence", "from_row", "gatekeeper", "mde_means", "mde_proportions", "mean_diff", "mean_lift",
    "parallel_trends", "power_means", "power_proportions", "proportion_ci", "proportion_diff",
    "proportion_lift", "ProportionStats", "qini_coefficient", "qini_curve", "qini_normalised", "quantile_diff", "quantile_of",
    "ratio_diff", "ratio_from_share",
    "ratio_lift", "ratio_sd", "RatioStats", "RegressionAdjustedStats", "sample_size_cuped", "sample_size_means",
    "sample_size_proportions", "sample_size_ratio", "SampleMeanStats", "ScoreBins", "srm_check", "SRMResult",
    "theta", "uplift_at_k", "uplift_by_bin", "ValueCounts",
]
