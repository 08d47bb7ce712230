"""The chart of a run: GET by id over the sweep of concurrencies, against its two ceilings."""

from pathlib import Path

from bench.load import SWEEP
from bench.report import Results


def chart(results: Results, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(8, 5))
    sweep = [c for c in SWEEP if f"get_app_c{c}" in results.http]
    series = {
        "GET /applications/{id} (API)": [results.http[f"get_app_c{c}"].rate for c in sweep],
        "HTTP ceiling (/healthz)": [results.http[f"healthz_c{c}"].rate for c in sweep],
        "database ceiling (pgbench app_get)": [results.database[f"app_get_c{c}"].rate for c in sweep],
    }
    for (label, rates), style in zip(series.items(), ("o-", "s--", "^--"), strict=True):
        axes.plot(sweep, rates, style, label=label)
    axes.set_xscale("log", base=2)
    axes.set_xticks(sweep, [str(c) for c in sweep])
    axes.set_xlabel("concurrent connections")
    axes.set_ylabel("requests (transactions) per second")
    axes.set_title("GET by id against its ceilings, one machine, one uvicorn worker")
    axes.grid(True, alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
