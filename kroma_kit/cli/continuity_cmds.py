"""``kroma continuity calibrate|show|check|eval``: the continuity gate from the command line.

Thin wrappers over :mod:`kroma_kit.continuity.service` and :mod:`kroma_kit.continuity.evaluate`;
``--json`` prints the same data the functions return.
"""

from __future__ import annotations

import argparse
from typing import Any

from kroma_kit.cli.output import add_json_flag, emit, print_json, print_table

CHECK_COLUMNS = ["file", "verdict", "style_drift", "identity", "reasons"]


def register(commands: argparse._SubParsersAction) -> None:
    continuity = commands.add_parser(
        "continuity", help="style drift and character identity against the project's references")
    sub = continuity.add_subparsers(dest="continuity_command", required=True)
    calibrate = sub.add_parser("calibrate", help="calibrate thresholds from the project's reference sets and store them")
    calibrate.add_argument("--project", required=True)
    add_json_flag(calibrate)
    calibrate.set_defaults(handler=cmd_calibrate)
    show = sub.add_parser("show", help="the stored calibration and the thresholds in force")
    show.add_argument("--project", required=True)
    add_json_flag(show)
    show.set_defaults(handler=cmd_show)
    check = sub.add_parser("check", help="score image(s) for style drift and character identity")
    check.add_argument("--project", required=True)
    check.add_argument("--input", required=True, nargs="+", action="extend", metavar="PATH",
                       help="image file(s) or folder(s)")
    check.add_argument("--character", action="append", default=[], metavar="CODE",
                       help="a character the image(s) show (repeat for several)")
    add_json_flag(check)
    check.set_defaults(handler=cmd_check)
    evaluate = sub.add_parser(
        "eval", help="measure the gate on a labelled set: DIR/refs/style/*.png, DIR/refs/characters/<code>/*.png, "
                     'DIR/cases.json [{"file", "characters", "expect": "ok|style_break|identity_break"}]')
    evaluate.add_argument("--set", required=True, dest="set_dir", metavar="DIR")
    evaluate.add_argument("--cases", action="store_true", help="with --json: include every case's result")
    add_json_flag(evaluate)
    evaluate.set_defaults(handler=cmd_eval)
    report = sub.add_parser("report", help="scores over the project's runs and scenes, and which shots broke")
    report.add_argument("--project", required=True)
    add_json_flag(report)
    report.set_defaults(handler=cmd_report)
    sheet = sub.add_parser("sheet", help="a continuity sheet PNG: every final image with one character's identity")
    sheet.add_argument("--project", required=True)
    sheet.add_argument("--character", required=True, metavar="CODE")
    sheet.add_argument("--out", required=True, help="PNG file to write")
    sheet.add_argument("--size", type=int, default=192, help="tile size in pixels (default 192)")
    add_json_flag(sheet)
    sheet.set_defaults(handler=cmd_sheet)
    chart = sub.add_parser("chart", help="the continuity chart as PNG: style drift and identity of scored candidates")
    chart.add_argument("--project", required=True)
    chart.add_argument("--run", help="one run instead of every run of the project")
    chart.add_argument("--out", required=True, help="PNG file to write")
    add_json_flag(chart)
    chart.set_defaults(handler=cmd_chart)
    generate = sub.add_parser("make-set", help="draw a labelled evaluation set (cast, hand, ok cases and breaks)")
    generate.add_argument("--out", required=True, metavar="DIR")
    generate.add_argument("--cases", type=int, default=200)
    generate.add_argument("--size", type=int, default=384)
    generate.add_argument("--seed", type=int, default=0)
    add_json_flag(generate)
    generate.set_defaults(handler=cmd_make_set)


def _ws(args: argparse.Namespace):
    from kroma_kit.catalog import open_workspace

    return open_workspace(args.home)


def _print_thresholds(data: dict[str, Any]) -> None:
    print(f"project {data['project']}: calibration {data['path']} "
          f"({'current' if data.get('current') else 'STALE: references changed'}; made {data.get('made_at')})")
    thresholds = data["thresholds"]
    spreads = data.get("spreads", {})
    # "references' edge": the furthest the references themselves went (style: highest distance,
    # identity: lowest score); a threshold sits a margin outside it.
    # Style per stage: the lit stages (time, weather, characters) are judged against relit variants.
    method = (data.get("method") or {}).get("style", {}).get("per_stage", {})
    by_stage = thresholds.get("style_by_stage") or {"style": thresholds["style_parts"]}
    rows = [{"check": f"style:{part} (max)", "stage": stage, "threshold": value,
             "references_edge": spreads.get("style" if stage == "style" else f"style:{stage}", {}).get(part, {}).get("high"),
             "made_from": _made_from(method.get(stage))}
            for stage, parts in by_stage.items() for part, value in parts.items()]
    rows.append({"check": "style_drift (max)", "threshold": thresholds["style_drift_max"], "references_edge": None})
    for key, label in (("identity_min", "identity"), ("identity_min_lit", "identity placed, relit")):
        rows += [{"check": f"{label}:{code} (min)", "threshold": value,
                  "references_edge": spreads.get(f"{key.replace('_min', '')}:{code}", {}).get("low"),
                  "nearest_other": spreads.get(f"{key.replace('_min', '')}:{code}", {}).get("nearest_other")}
                 for code, value in (thresholds.get(key) or {}).items()]
    print_table(rows, ["check", "stage", "threshold", "references_edge", "nearest_other", "made_from"])


def _made_from(method: dict[str, Any] | None) -> str | None:
    """"4 ref+variants, 15 augmentations, 12 outputs (floors: lone_reference)"."""
    if not method:
        return None
    return (f"{method.get('reference_pairs_and_variants', 0)} ref+variants, {method.get('stage_augmentations', 0)} "
            f"augmentations, {method.get('outputs', 0)} outputs (floors: {method.get('floors', 'default')})")


def cmd_calibrate(args: argparse.Namespace) -> int:
    from kroma_kit.continuity.service import calibrate_project

    data = calibrate_project(_ws(args), args.project)
    if args.json:
        print_json(data)
    else:
        _print_thresholds(data)
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from kroma_kit.continuity.service import show_calibration

    data = show_calibration(_ws(args), args.project)
    if args.json:
        print_json(data)
    elif "calibration" in data and data["calibration"] is None:
        print(f"project {args.project}: not calibrated yet ({data['hint']})")
    else:
        _print_thresholds(data)
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from kroma_kit.continuity.service import check_images

    results = [result.to_dict() for result in check_images(_ws(args), args.project, args.input, args.character)]
    rows = [{"file": item["file"], "verdict": item["verdict"],
             "style_drift": (item["style"] or {}).get("style_drift"),
             "identity": ", ".join(f"{s['code']} {s['identity']:.2f}" for s in item["identity"]) or None,
             "reasons": "; ".join(item["reasons"]) or None} for item in results]
    emit(args, results, rows, CHECK_COLUMNS)
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from kroma_kit.continuity.evaluate import evaluate_set

    report = evaluate_set(args.set_dir)
    if args.json:
        print_json(report.to_dict(with_results=args.cases))
        return 0
    print(f"{report.cases} cases: detection {report.detection_rate:.1%} of breaks, "
          f"false alarms {report.false_alarm_rate:.1%} of ok cases")
    print_table([{"kind": kind, **values} for kind, values in report.per_kind.items()],
                ["kind", "cases", "flagged", "detection_rate", "false_alarm_rate"])
    print()
    print("confusion (expected x what the gate said):")
    print_table([{"expected": expect, **said} for expect, said in report.confusion.items()],
                ["expected", "pass", "style", "identity", "style+identity"])
    return 0


def cmd_make_set(args: argparse.Namespace) -> int:
    from kroma_kit.continuity.evalset import generate_eval_set

    info = generate_eval_set(args.out, cases=args.cases, size=args.size, seed=args.seed)
    emit(args, info.to_dict())
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from kroma_kit.continuity.report import continuity_report

    data = continuity_report(_ws(args), args.project)
    if args.json:
        print_json(data)
        return 0
    print(f"project {data['project']}: {data['scored']} candidate(s) scored, {data['broken']} broke continuity")
    columns = ["candidates", "broken", "winners_broken", "mean_style_drift", "lowest_identity"]
    print_table(data["runs"], ["run_id", "stage", *columns])
    print()
    print_table(data["scenes"], ["scene", *columns])
    print()
    print_table([{**shot, "reasons": "; ".join(shot["reasons"])} for shot in data["broken_shots"]],
                ["run_id", "job", "candidate_index", "winner", "verdict", "reasons"])
    return 0


def cmd_sheet(args: argparse.Namespace) -> int:
    from kroma_kit.continuity.report import continuity_sheet

    sheet = continuity_sheet(_ws(args), args.project, args.character, tile=args.size)
    path = sheet.save(args.out).resolve()
    if args.json:
        print_json({"path": str(path), "character": args.character, "images": sheet.rows})
    else:
        print(path)
    return 0


def cmd_chart(args: argparse.Namespace) -> int:
    from pathlib import Path

    from kroma_kit.continuity.chart import continuity_chart_png
    from kroma_kit.errors import InputError
    from kroma_kit.storage.atomic import atomic_write_bytes

    target = Path(args.out).expanduser()
    if target.suffix.lower() != ".png":
        raise InputError(f"Charts are PNGs: give --out a .png name, not {target.name!r}.")
    path = atomic_write_bytes(target, continuity_chart_png(_ws(args), args.project, args.run)).resolve()
    emit(args, {"path": str(path), "project": args.project, "run": args.run}) if args.json else print(path)
    return 0
