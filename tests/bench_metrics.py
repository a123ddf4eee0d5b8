"""Benchmark: course_lib.metrics mIoU vs torchmetrics on a 16×256×256 batch with 11 classes.

Run: ``python tests/bench_metrics.py [--repeats 20] [--threads N] [--json out.json]``. Not collected by pytest
(the speed assertion lives in tests/metrics/test_semantic.py); prints best-of-N milliseconds and the ratio
ours / torchmetrics.
"""

from __future__ import annotations

import argparse
import json
import time

import torch


def best_ms(contenders: dict, repeats: int) -> dict:
    """Best wall time in ms of each callable, timed round-robin (one call each per round) after a warm-up call.

    Interleaving keeps a burst of load from other processes from landing on one contender only.
    """
    best = {name: float("inf") for name in contenders}
    for fn in contenders.values():
        fn()
    for _ in range(repeats):
        for name, fn in contenders.items():
            start = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - start)
    return {name: t * 1e3 for name, t in best.items()}


def main() -> dict:
    from torchmetrics.classification import MulticlassJaccardIndex
    from torchmetrics.functional.classification import multiclass_jaccard_index

    from course_lib import metrics

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--json", default=None, help="also write the results to this JSON file")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    g = torch.Generator().manual_seed(0)
    target = torch.randint(0, 11, (16, 256, 256), generator=g)
    pred = torch.randint(0, 11, (16, 256, 256), generator=g)
    results = {"threads": torch.get_num_threads(), "torch": torch.__version__, "rows": []}
    for dtype in (torch.int64, torch.uint8):
        for ignore in (None, 255):
            p, t = pred.to(dtype), target.clone().to(dtype)
            if ignore is not None:
                t[:, :8] = ignore
            module = MulticlassJaccardIndex(num_classes=11, ignore_index=ignore)

            def run_module():
                module.reset()
                module.update(p, t)
                return module.compute()

            row = {"dtype": str(dtype).replace("torch.", ""), "ignore_index": ignore}
            row.update(
                best_ms(
                    {
                        "ours_ms": lambda: metrics.iou(p, t, 11, ignore_index=ignore),
                        "tm_functional_ms": lambda: multiclass_jaccard_index(p, t, 11, ignore_index=ignore),
                        "tm_functional_novalidate_ms": lambda: multiclass_jaccard_index(
                            p, t, 11, ignore_index=ignore, validate_args=False
                        ),
                        "tm_module_ms": run_module,
                    },
                    args.repeats,
                )
            )
            row["ratio_vs_tm_functional"] = row["ours_ms"] / row["tm_functional_ms"]
            row["ratio_vs_tm_novalidate"] = row["ours_ms"] / row["tm_functional_novalidate_ms"]
            results["rows"].append(row)
            print(
                f"{row['dtype']:>6} ignore={str(ignore):>4}  ours {row['ours_ms']:7.2f} ms | torchmetrics functional "
                f"{row['tm_functional_ms']:7.2f} ms (no validation {row['tm_functional_novalidate_ms']:6.2f}) | module "
                f"{row['tm_module_ms']:7.2f} ms | ratio {row['ratio_vs_tm_functional']:.3f} "
                f"({row['ratio_vs_tm_novalidate']:.3f} vs no validation)"
            )
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=2)
    return results


if __name__ == "__main__":
    main()
