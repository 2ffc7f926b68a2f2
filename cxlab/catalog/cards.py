"""Typed catalogue cards (pydantic): metrics, triggers, hypotheses, segments, campaigns.

Unknown fields are errors (a typo must not silently drop a setting); rules are parsed when the card
loads, so a broken rule is reported with the card's path.
"""

from __future__ import annotations

from datetime import date
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from cxlab.catalog.functions import ROW_FUNCTIONS
from cxlab.catalog.rules import calls_in, check_structure, parse_rule
from cxlab.errors import RuleError

#: The longest window a card may give, in days (ten years): longer ones are typos and overflow dates.
MAX_WINDOW_DAYS = 3660


class Card(BaseModel):
    """Base of every card: strict fields, frozen after loading.

    Free text may carry a Russian variant in a field of the same name with ``_ru`` after it (``title_ru``,
    ``risks_ru``): :meth:`in_lang` gives it to a Russian report, and the English text where there is none.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    def in_lang(self, name: str, lang: str) -> Any:
        """The field ``name`` in ``lang``: its ``<name>_<lang>`` variant when the card gives one."""
        variant = getattr(self, f"{name}_{lang}", None) if lang != "en" else None
        return variant if variant else getattr(self, name)


def _rule(text: str) -> str:
    """Parse the rule and check its functions now, so an error is reported at the card's field and line."""
    try:
        calls_in(parse_rule(text, "rule"))
    except RuleError as e:
        raise ValueError(str(e).removeprefix("rule: ")) from None
    return text


def _row_rule(text: str) -> str:
    """Parse a row filter now; its columns are checked when it meets its table."""
    try:
        rule = parse_rule(text, "filter")
        check_structure(rule, ROW_FUNCTIONS)
    except RuleError as e:
        raise ValueError(str(e).removeprefix("filter: ")) from None
    return text


class Metric(Card):
    """A metric with a precise definition: what is counted per person, in which window, which way is better.

    ``proportion``: share of people with at least one row; ``mean``: the per-person count or sum of
    value, optionally capped (``winsorize``: at that percentile of all people, computed in the engine);
    ``quantile``: the ``quantile`` of the per-person values (e.g. median spend); ``ratio``: Σ numerator /
    Σ denominator of two other metrics, per person (e.g. value per card opened) — the unit stays the person.
    """

    name: str
    label: str
    description: str
    unit: Literal["person"] = Field(
        "person", description="metrics are per person: contracts, leads and sends are de-duplicated to people")
    type: Literal["proportion", "mean", "quantile", "ratio"]
    source: Literal["holdings", "events"] | None = None
    filter: str | None = None
    aggregate: Literal["any", "count", "sum"] | None = None
    numerator: str | None = Field(None, description="ratio metrics: the metric summed on top")
    denominator: str | None = Field(None, description="ratio metrics: the metric summed below")
    winsorize: float | None = Field(None, gt=0.5, lt=1, description="cap per-person values at this percentile")
    quantile: float | None = Field(None, gt=0, lt=1, description="quantile metrics: which quantile (0.5 = median)")
    resolution: float = Field(1.0, gt=0, description="quantile metrics: values are rounded to this step in the engine")
    window_days: int = Field(gt=0, le=MAX_WINDOW_DAYS)
    direction: Literal["increase", "decrease"] = "increase"
    role: Literal["goal", "guardrail"] = "goal"
    margin: float | None = Field(None, gt=0, description="tolerated relative worsening of a guardrail")
    counts: str = ""
    excludes: str = ""
    label_ru: str | None = None
    description_ru: str | None = None
    counts_ru: str | None = None
    excludes_ru: str | None = None

    _check_filter = field_validator("filter")(lambda v: _row_rule(v) if v else v)

    @property
    def rows_from(self) -> Literal["holdings", "events"]:
        """The table a non-ratio metric counts rows of (the validator gives every one a ``source``)."""
        if self.source is None:
            raise ValueError(f"metric '{self.name}' is a ratio metric: its rows are its numerator's and denominator's")
        return self.source

    @model_validator(mode="after")
    def _consistent(self) -> Metric:
        if self.type == "ratio":
            if not (self.numerator and self.denominator):
                raise ValueError("a ratio metric names its numerator and denominator metrics")
            if self.source or self.aggregate or self.filter or self.winsorize:
                raise ValueError("a ratio metric takes its rows from its numerator and denominator: "
                                 "give no source, filter, aggregate or winsorize")
            return self
        if self.numerator or self.denominator:
            raise ValueError("numerator and denominator belong to ratio metrics only")
        if not (self.source and self.aggregate):
            raise ValueError(f"a {self.type} metric needs a source (holdings or events) and an aggregate")
        if self.type == "proportion" and self.aggregate != "any":
            raise ValueError("a proportion metric counts people with at least one row: use aggregate: any")
        if self.type != "mean" and self.winsorize:
            raise ValueError("winsorize caps per-person counts or sums: it applies to mean metrics")
        if (self.type == "quantile") != (self.quantile is not None):
            raise ValueError("a quantile metric gives quantile (e.g. 0.5), and only a quantile metric does")
        return self

    def label_in(self, lang: str) -> str:
        return str(self.in_lang("label", lang))

    def description_in(self, lang: str) -> str:
        return str(self.in_lang("description", lang))


class Trigger(Card):
    """A rule over the canonical tables evaluated at monthly snapshots, the product line it should sell,
    and the conversion window."""

    name: str
    title: str
    title_ru: str | None = None
    description: str = ""
    description_ru: str | None = None
    rule: str
    target_line: str
    window_days: int = Field(gt=0, le=MAX_WINDOW_DAYS)
    owner: str = ""
    snapshot_day: int = Field(1, ge=1, le=28)

    _check_rule = field_validator("rule")(lambda v: _rule(v))


class ExpectedEffect(Card):
    metric: str
    absolute: float | None = None
    relative: float | None = None
    sign: Literal["+", "-"] = "+"

    @model_validator(mode="after")
    def _one_size(self) -> ExpectedEffect:
        if (self.absolute is None) == (self.relative is None):
            raise ValueError("give exactly one of absolute or relative")
        return self


class CommunicationCheck(Card):
    """The questions every communication must answer before it is sent."""

    why: str | None = None
    to_whom: str | None = None
    not_to_whom: str | None = None
    effect_positive: str | None = None
    effect_negative: str | None = None
    measured_how: str | None = None
    client_need: str | None = None
    why_ru: str | None = None
    to_whom_ru: str | None = None
    not_to_whom_ru: str | None = None
    effect_positive_ru: str | None = None
    effect_negative_ru: str | None = None
    measured_how_ru: str | None = None
    client_need_ru: str | None = None

    #: The questions, in the order a report asks them (each may have a ``_ru`` variant).
    QUESTIONS: ClassVar[tuple[str, ...]] = ("why", "to_whom", "not_to_whom", "effect_positive", "effect_negative",
                                            "measured_how", "client_need")


class MetricSet(Card):
    primary: str
    secondary: list[str] = []
    guardrails: list[str] = []

    @property
    def names(self) -> list[str]:
        """Every metric of the set: the primary, then the secondary ones, then the guardrails."""
        return [self.primary, *self.secondary, *self.guardrails]


class Hypothesis(Card):
    """A trigger-based hypothesis, written so that it can be tested and argued about."""

    id: str
    title: str
    title_ru: str | None = None
    statement: str
    statement_ru: str | None = None
    trigger: str
    population: str | None = None
    channel: str = "email"
    metrics: MetricSet
    expected_effect: ExpectedEffect
    alpha: float = Field(0.05, gt=0, lt=1)
    power: float = Field(0.8, gt=0, lt=1)
    treatment_share: float = Field(0.8, gt=0, lt=1)
    mde: float | None = None
    communication_check: CommunicationCheck = CommunicationCheck()
    risks: list[str] = []
    risks_ru: list[str] = []
    owner: str
    status: Literal["draft", "ready", "running", "done"] = "draft"

    _check_population = field_validator("population")(lambda v: _rule(v) if v else v)

    def missing_checks(self) -> list[str]:
        """The communication-check questions left unanswered."""
        answers = self.communication_check
        return [k for k in answers.QUESTIONS if not ((v := getattr(answers, k)) and v.strip())]


class Segment(Card):
    """A behavioural segment: a rule, a priority for exclusive assignment, and the line it is for."""

    name: str
    title: str
    title_ru: str | None = None
    description: str = ""
    description_ru: str | None = None
    rule: str
    priority: int
    owner: str = ""
    product_line: str

    _check_rule = field_validator("rule")(lambda v: _rule(v))


class SignOff(Card):
    """Who approved the launch, and when: a segment is launched only after sign-off."""

    by: str = Field(min_length=1)
    at: date


class Registration(Card):
    """The plan written at launch, before any outcome exists (the pre-registration 04 reports against)."""

    hypothesis: str | None = None
    audience: str = Field(description="what was launched: segment:NAME or trigger:NAME")
    snapshot: date
    salt: str = Field(min_length=1)
    stratify: str = Field("", description="'', segment, deciles, or column:NAME (a client column)")
    analysis: Literal["plain", "cuped"] = "plain"
    alpha: float = Field(0.05, gt=0, lt=1)
    power: float = Field(0.8, gt=0, lt=1)
    margins: dict[str, float] = Field({}, description="guardrail margins as registered (relative worsening)")
    planned_size: int = Field(ge=0)
    baseline: float | None = None
    mde: float | None = None
    launch_date: date
    owner: str = Field(min_length=1)
    sign_off: SignOff
    exclusive: bool = True
    audience_sha256: str = ""
    data_fingerprint: str = ""
def _expressions(values: dict[str, str]) -> dict[str, str]:
    """Feature expressions use the rule language (values, not conditions): parse them now."""
    for name, text in values.items():
        if not name.isidentifier():
            raise ValueError(f"feature name {name!r} must be a plain identifier (letters, digits, _)")
        try:
            calls_in(parse_rule(text, name))
        except RuleError as e:
            raise ValueError(f"expression '{name}': {str(e).removeprefix(name + ': ')}") from None
    return values


class Features(Card):
    """What a model may know about a client at the send date: client columns and rule-language
    expressions (``count_events('login', 30)``, ``holds('deposit')``…) computed in the engine."""

    columns: list[str] = []
    expressions: dict[str, str] = {}

    _check_expressions = field_validator("expressions")(lambda v: _expressions(v))


class UpliftSettings(Card):
    """How uplift models are learned from the campaign (07): the learner shown, cross-fitting folds, the
    bounded training sample, and the audience rule (top share by predicted uplift, negative group excluded)."""

    learner: Literal["t", "s", "x", "class_transformation"] = "t"
    folds: int = Field(5, ge=2, le=20)
    sample_size: int = Field(200_000, ge=200)
    top_share: float = Field(0.4, gt=0, lt=1)


class Matching(Card):
    """A comparison group for a campaign without a randomised control (``control: matched``): clients not
    contacted by the campaign (optionally only those the ``pool`` rule keeps), matched on a propensity score
    from the card's features and the pre-period, ``ratio`` per treated person, within ``caliper`` standard
    deviations of the logit score."""

    pool: str | None = None
    ratio: int = Field(1, ge=1, le=5)
    caliper: float = Field(0.2, gt=0)
    sample_size: int = Field(50_000, ge=200)

    _check_pool = field_validator("pool")(lambda v: _rule(v) if v else v)


class Campaign(Card):
    """A campaign to evaluate: arms and planned split, metrics, windows, breakdowns.

    ``control: matched`` marks a campaign sent without a randomised control group: ``arms`` then lists the
    treated arms only, and ``control_arm`` names the matched comparison group built from clients not
    contacted (weaker evidence than a randomised test; the report says so)."""

    name: str
    title: str
    title_ru: str | None = None
    campaign_ids: list[str] = Field(min_length=1)
    control_arm: str = "control"
    arms: dict[str, float]
    channel: str = "email"
    send_start: date
    send_end: date
    metrics: MetricSet
    window_days: int = Field(gt=0, le=MAX_WINDOW_DAYS)
    pre_period_days: int = Field(90, ge=0, le=MAX_WINDOW_DAYS)
    covariate: str | None = Field(None, description="a client column to use as the CUPED covariate instead of the pre-period metric")
    new_clients: str | None = Field(
        None, description="a row rule over clients, true for those without a full pre-period (default: joined_at after its start)")
    competing_campaigns: list[str] = Field(
        ["%"], description="campaign_id patterns (SQL LIKE) whose sends in the window count as contamination")
    segments: list[str] = []
    score_column: str | None = None
    cost_per_contact: float | None = Field(None, ge=0)
    value_per_conversion: float | None = Field(None, ge=0)
    registration: Registration | None = None
    control: Literal["randomised", "matched"] = "randomised"
    features: Features = Features()
    uplift: UpliftSettings = UpliftSettings()
    matching: Matching = Matching()

    _check_new_clients = field_validator("new_clients")(lambda v: _row_rule(v) if v else v)

    @model_validator(mode="after")
    def _arms(self) -> Campaign:
        if self.control == "matched":
            if self.control_arm in self.arms:
                raise ValueError(f"control: matched builds the comparison group '{self.control_arm}' from clients "
                                 f"not contacted: list only the treated arms in arms, not '{self.control_arm}'")
        elif self.control_arm not in self.arms:
            raise ValueError(f"control_arm '{self.control_arm}' is not among arms {list(self.arms)}")
        elif len(self.arms) < 2:
            raise ValueError("a campaign needs a control arm and at least one treatment arm")
        if abs(sum(self.arms.values()) - 1) > 1e-6 or any(s <= 0 for s in self.arms.values()):
            raise ValueError(f"arm shares must be positive and sum to 1, got {self.arms}")
        if self.send_end < self.send_start:
            raise ValueError("send_end is before send_start")
        return self

    @property
    def treatment_arms(self) -> list[str]:
        return [a for a in self.arms if a != self.control_arm]


class PlannedCampaign(Card):
    """One campaign competing for clients in a contact policy: what it targets and how it ranks."""

    name: str
    segment: str | None = None
    trigger: str | None = None
    scored: str | None = Field(None, description="07's scored audience file (its selected clients), from the project root")
    channel: str = "email"
    type: Literal["marketing", "transactional"] = "marketing"
    priority: int = Field(ge=1, description="1 is served first")
    max_audience: int | None = Field(None, ge=1)
    uplift: float = Field(0.2, description="assumed relative uplift of the base rate, for the cost of each rule")
    arms: dict[str, float] = {"control": 0.2, "treatment": 0.8}
    control_arm: str = "control"
    salt: str = Field("", description="the split's salt (default: policy name:campaign name)")
    hypothesis: str = ""

    @model_validator(mode="after")
    def _one_target(self) -> PlannedCampaign:
        if sum(x is not None for x in (self.segment, self.trigger, self.scored)) != 1:
            raise ValueError("give exactly one of segment, trigger or scored")
        if abs(sum(self.arms.values()) - 1) > 1e-6 or any(v <= 0 for v in self.arms.values()):
            raise ValueError(f"arm shares must be positive and sum to 1, got {self.arms}")
        if self.control_arm not in self.arms:
            raise ValueError(f"control_arm '{self.control_arm}' is not among arms {list(self.arms)}")
        return self


class ContactPolicy(Card):
    """Who gets what when several campaigns compete for the same clients in a period.

    Rules in the order they apply: the minimum gap since a client's last contact, the caps per channel
    and per campaign type (contacts per client in the period, highest priority first), exclusivity (a
    client in at most one marketing campaign), and each campaign's maximum audience. Transactional
    campaigns are exempt from every rule.
    """

    name: str
    title: str = ""
    title_ru: str | None = None
    snapshot: date
    caps_per_channel: dict[str, int] = {}
    caps_per_type: dict[str, int] = {}
    min_gap_days: int = Field(0, ge=0)
    exclusive: bool = True
    campaigns: list[PlannedCampaign] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> ContactPolicy:
        names = [c.name for c in self.campaigns]
        if len(set(names)) != len(names):
            raise ValueError(f"campaign names must be unique, got {names}")
        if any(v < 1 for v in [*self.caps_per_channel.values(), *self.caps_per_type.values()]):
            raise ValueError("caps must be at least 1 contact")
        return self
