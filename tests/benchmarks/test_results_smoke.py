"""A smoke run of the results benchmark on each engine: 2,000 answers, timed through `pulse results`."""

from __future__ import annotations

import io

from benchmarks.results import measure, plan, print_report


async def test_results_on_2000_answers(database_url: str) -> None:
    kind = "sqlite" if database_url.startswith("sqlite") else "postgres"
    figures = await measure(kind, answers=2000, runs=4, repeat=2, postgres_url=database_url)
    assert figures.answers == 2000
    assert figures.people == plan(2000, 4)[0]
    assert len(figures.timings) == 2 and 0 < figures.best <= figures.median <= figures.worst < 5
    assert figures.has_trend, figures.reply
    # Teams under k=5 exist, so the k rule withholds some group lines, but not all of them.
    assert 0 < figures.withheld_lines < figures.team_lines, figures.reply
    assert "Responses: 250 of" in figures.reply
    # Closing the latest run writes its answers again: 250 respondents, two questions each.
    assert figures.settled == 500 and 0 < figures.settle_seconds < 5
    out = io.StringIO()
    print_report([figures], out)
    assert f"{kind:9}     2000" in out.getvalue()
