"""``bpcheck explain``: a fixture read back as the worked example it encodes.

The sections come from :mod:`bpcheck.authoring.worked_example`, computed by the
first engine that can run the fixture.  Markdown is written here (its line
breaks are two trailing spaces, clearer in code than in a template), with the
fixture's own text (title, ``where``) through :func:`bpcheck.io.escape.markdown_text`
and its path in a code span it cannot close; HTML comes from
``templates/explain.html`` with autoescaping on.  Either way a fixture's text can
never become markup, a link or an image.
"""

from __future__ import annotations

import functools

import jinja2

from bpcheck.authoring.digits import digits_table, step_names
from bpcheck.authoring.worked_example import Explainer, Section, num
from bpcheck.authoring.worked_updates import settings
from bpcheck.checking.check import OK, EngineRun, run_problem
from bpcheck.errors import BadInput, InputError
from bpcheck.io.escape import markdown_code, markdown_text
from bpcheck.model import quantities as q
from bpcheck.model.engine import Engine
from bpcheck.model.fixture import Claim, Fixture


def explain(
    fixture: Fixture,
    step: int,
    engines: dict[str, Engine],
    output_format: str = "md",
    digits: int | None = None,
) -> str:
    """The worked example of ``step`` as Markdown (``md``) or HTML (``html``).

    With ``digits`` (Markdown only), every engine runs and a table follows: each value
    of the step certified to that many digits beside each engine's
    (:mod:`bpcheck.authoring.digits`).  Raises BadInput when ``step`` is not one of the
    fixture's or no engine can run it.
    """
    where = str(fixture.path)
    if not 0 <= step <= fixture.problem.steps:
        expected = f"expected a step from 0 to {fixture.problem.steps}, found {step}"
        raise BadInput([InputError(where, "--step", expected)])
    record = recorded_steps(fixture, step)
    runs: list[EngineRun] = []
    for name, engine in engines.items():
        runs.append(run_problem(engine, fixture.problem, record, name))
        if runs[-1].outcome == OK and digits is None:
            break
    run = next((r for r in runs if r.outcome == OK), None)
    if run is None:
        raise BadInput([InputError(where, "$", "expected a fixture some engine can compute")])
    explainer = Explainer(fixture, run.trace, step)
    sections = list(explainer.sections())
    shown = {id(c) for s in sections for line in s.lines for c in line.claims}
    others = [c for c in fixture.claims if id(c) not in shown and c.printed is not None]
    if others:
        sections.append(other_claims(explainer, others))
    render = to_html if output_format == "html" else markdown
    text = render(fixture, step, sections, settings(fixture.problem, step))
    if digits is not None:
        names = step_names(runs, step)
        table = digits_table(runs, names, step, digits)
        text += f"\n## Certified values to {digits} digits\n\n{table}\n"
    return text


def recorded_steps(fixture: Fixture, step: int) -> set[int]:
    """The steps the page needs: this one and the next (the update), the one before (momentum's
    velocity), every claimed step (and the step after an ``E_change``)."""
    last = fixture.problem.steps
    claimed = {c.step for c in fixture.claims if c.printed is not None}
    changes = {c.step + 1 for c in fixture.claims if c.canonical == q.E_CHANGE}
    before = {step - 1} if step > 0 and fixture.problem.momentum else set()
    return {step, min(step + 1, last), *claimed, *changes, *before}


def other_claims(explainer: Explainer, claims: list[Claim]) -> Section:
    """Printed numbers of other steps (after training, say), each beside its computed value
    (a name the engine did not compute, an extended one, is left out)."""
    section = Section("Other printed numbers of this fixture")
    for claim in claims:
        if claim.canonical == q.E_CHANGE or explainer.has(claim.canonical, claim.step):
            section.lines.append(explainer.line(claim.canonical, "", "", claim.step))
    return section


def markdown(
    fixture: Fixture, step: int, sections: list[Section], rows: list[tuple[str, str]]
) -> str:
    source = markdown_code(str(fixture.path))
    out = [
        f"# {markdown_text(fixture.title)}",
        "",
        f"Step {step}, computed by bpcheck from {source}.",
        "",
        "## Settings",
        "",
        "| setting | value |",
        "| --- | --- |",
        *(f"| {markdown_text(name)} | {markdown_text(value)} |" for name, value in rows),
        "",
    ]
    for section in sections:
        out.extend([f"## {section.title}", ""])
        for line in section.lines:
            other_step = "" if line.step == step else f"(step {line.step}) "
            text = f"- {other_step}{' = '.join(line.parts)} = **{num(line.value)}**"
            for p in line.printed:
                text += f"  \n  printed {p.printed} ({markdown_text(p.where)}): {p.verdict}"
            out.append(text)
        out.append("")
    if fixture.unsupported:
        out.extend(
            ["## Printed, not computed", "", "| printed | where | why |", "| --- | --- | --- |"]
        )
        out.extend(
            f"| {markdown_text(c.printed or '')} | {markdown_text(c.where)} | "
            f"{markdown_text(c.unsupported or '')} |"
            for c in fixture.unsupported
        )
        out.append("")
    return "\n".join(out)


@functools.cache
def templates() -> jinja2.Environment:
    """The templates shipped in ``bpcheck/authoring/templates``, HTML-escaping every value."""
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("bpcheck.authoring"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["num"] = num
    return environment


def to_html(
    fixture: Fixture, step: int, sections: list[Section], rows: list[tuple[str, str]]
) -> str:
    template = templates().get_template("explain.html")
    return template.render(
        title=fixture.title,
        step=step,
        sections=sections,
        settings=rows,
        unsupported=fixture.unsupported,
    )
