"""``kroma chat``, ``kroma instructions``, ``kroma voice`` and ``kroma worker``: the copilot's CLI
twins of the ChatPanel's actions, thin wrappers over :mod:`kroma_kit.copilot`."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from kroma_kit.cli.output import add_json_flag, emit, print_json, print_table

INSTRUCTION_COLUMNS = ["id", "type", "action", "status", "attempts", "objective", "created_at", "last_error"]


def _project(parser: argparse.ArgumentParser, *, required: bool = True) -> None:
    parser.add_argument("--project", required=required, help="project slug")
    add_json_flag(parser)


def register(commands: argparse._SubParsersAction) -> None:
    chat = commands.add_parser("chat", help="talk to the copilot: text in, answers and draft instructions out")
    chat_sub = chat.add_subparsers(dest="chat_command", required=True)
    new = chat_sub.add_parser("new", help="start a chat session")
    new.add_argument("--title", default="")
    _project(new)
    new.set_defaults(handler=cmd_chat_new)
    send = chat_sub.add_parser("send", help="send a message (a new session when --session is not given)")
    send.add_argument("text", nargs="+")
    send.add_argument("--session", help="chat session id (or a unique prefix)")
    _project(send)
    send.set_defaults(handler=cmd_chat_send)
    show = chat_sub.add_parser("show", help="a session's transcript")
    show.add_argument("session_id")
    _project(show)
    show.set_defaults(handler=cmd_chat_show)

    inst = commands.add_parser("instructions", help="list, show, confirm, cancel agent instructions")
    inst_sub = inst.add_subparsers(dest="instructions_command", required=True)
    listing = inst_sub.add_parser("list", help="the project's instructions, newest first")
    listing.add_argument("--status", action="append", help="only this status (repeatable)")
    _project(listing)
    listing.set_defaults(handler=cmd_instructions_list)
    for name, handler, text in (("show", cmd_instructions_show, "one instruction with its envelope"),
                                ("confirm", cmd_instructions_confirm, "confirm a draft: it is queued for the worker"),
                                ("cancel", cmd_instructions_cancel,
                                 "cancel a draft or queued instruction (a running one stops between steps)"),
                                ("events", cmd_instructions_events, "an instruction's event log")):
        sub = inst_sub.add_parser(name, help=text)
        sub.add_argument("instruction_id")
        if name == "cancel":
            sub.add_argument("--reason", default="canceled by the user")
        _project(sub)
        sub.set_defaults(handler=handler)

    voice = commands.add_parser("voice", help="speech to text and text to speech (offline by default)")
    voice_sub = voice.add_subparsers(dest="voice_command", required=True)
    stt = voice_sub.add_parser("stt", help="transcribe an audio file (WAV, FLAC, OGG, MP3)")
    stt.add_argument("file", type=Path)
    stt.add_argument("--send", action="store_true", help="also send the transcript to the chat")
    stt.add_argument("--session", help="chat session for --send (default: a new one)")
    _project(stt)
    stt.set_defaults(handler=cmd_voice_stt)
    tts = voice_sub.add_parser("tts", help="speak a text into a WAV file")
    tts.add_argument("text", nargs="+")
    tts.add_argument("--out", type=Path, required=True)
    _project(tts)
    tts.set_defaults(handler=cmd_voice_tts)

    worker = commands.add_parser("worker", help="run queued agent instructions (Ctrl-C stops after the current one)")
    worker.add_argument("--once", action="store_true", help="process at most one instruction, then exit")
    worker.add_argument("--drain", action="store_true", help="process until the queue is empty, then exit")
    worker.add_argument("--poll-interval", type=float, default=2.0, metavar="S")
    worker.add_argument("--max-locked-seconds", type=float, default=120.0, metavar="S",
                        help="take back instructions whose worker has not refreshed its lock for this long")
    worker.add_argument("--max-attempts", type=int, metavar="N", help="attempts before an instruction fails")
    worker.add_argument("--retry-backoff", type=float, default=10.0, metavar="S",
                        help="wait S x attempts before retrying a failed attempt")
    worker.add_argument("--worker-id", help="default: host:pid:random")
    _project(worker, required=False)
    worker.set_defaults(handler=cmd_worker)


def _ws(args: argparse.Namespace):
    from kroma_kit.catalog import open_workspace

    return open_workspace(args.home)


def _card_row(card: dict[str, Any]) -> dict[str, Any]:
    return {**card, "id": card["id"][:8]}


# --------------------------------------------------------------------------- chat

def cmd_chat_new(args: argparse.Namespace) -> int:
    from kroma_kit.copilot.service import new_session

    session = new_session(_ws(args), args.project, title=args.title)
    emit(args, session.to_dict())
    return 0


def _print_turn(turn: Any) -> None:
    print(f"[{turn.session.id[:8]}] copilot: {turn.reply.text}")
    if turn.instruction is not None:
        item = turn.instruction
        print(f"instruction {item.id}  type {item.instruction_type}  action {item.action}  status {item.status}")


def cmd_chat_send(args: argparse.Namespace) -> int:
    from kroma_kit.copilot.service import send_message

    turn = send_message(_ws(args), args.project, " ".join(args.text), session_id=args.session)
    if args.json:
        print_json(turn.to_dict())
    else:
        _print_turn(turn)
    return 0


def cmd_chat_show(args: argparse.Namespace) -> int:
    from kroma_kit.copilot.sessions import session_messages

    session, messages = session_messages(_ws(args), args.project, args.session_id)
    if args.json:
        print_json({"session": session.to_dict(), "messages": [m.to_dict() for m in messages]})
        return 0
    print(f"session {session.id}  {session.title}")
    for message in messages:
        print(f"{message.created_at}  {message.role:9}  {message.text}")
    return 0


# --------------------------------------------------------------------------- instructions

def cmd_instructions_list(args: argparse.Namespace) -> int:
    from kroma_kit.copilot.instruction_requests import project_instructions
    from kroma_kit.copilot.service import card

    cards = [card(i) for i in project_instructions(_ws(args), args.project, statuses=args.status)]
    emit(args, cards, [_card_row(c) for c in cards], INSTRUCTION_COLUMNS)
    return 0


def cmd_instructions_show(args: argparse.Namespace) -> int:
    from kroma_kit.copilot.instruction_requests import instruction_detail

    emit(args, instruction_detail(_ws(args), args.project, args.instruction_id).to_dict())
    return 0


def cmd_instructions_confirm(args: argparse.Namespace) -> int:
    from kroma_kit.copilot.service import card, confirm

    item = confirm(_ws(args), args.project, args.instruction_id)
    emit(args, card(item))
    return 0


def cmd_instructions_cancel(args: argparse.Namespace) -> int:
    from kroma_kit.copilot.service import cancel, card

    item = cancel(_ws(args), args.project, args.instruction_id, reason=args.reason)
    emit(args, card(item))
    return 0


def cmd_instructions_events(args: argparse.Namespace) -> int:
    from kroma_kit.copilot.instruction_requests import instruction_events

    events = instruction_events(_ws(args), args.project, args.instruction_id)
    emit(args, events, events, ["seq", "created_at", "event_type", "status_from", "status_to", "worker_id",
                                "message"])
    return 0


# --------------------------------------------------------------------------- voice

def cmd_voice_stt(args: argparse.Namespace) -> int:
    from kroma_kit.copilot.voice import transcribe

    ws = _ws(args)
    result = transcribe(ws, args.project, args.file)
    data: dict[str, Any] = result.to_dict()
    if args.send:
        from kroma_kit.copilot.service import send_message
        from kroma_kit.copilot.voice import attach_to_message

        turn = send_message(ws, args.project, result.text, session_id=args.session,
                            voice_asset_id=result.input_asset_id)
        attach_to_message(ws, result, turn.user_message)
        data["turn"] = turn.to_dict()
        if not args.json:
            print(f"you said: {result.text}")
            _print_turn(turn)
    if args.json:
        print_json(data)
    elif not args.send:
        print(result.text)
    return 0


def cmd_voice_tts(args: argparse.Namespace) -> int:
    from kroma_kit.copilot.voice import speak

    result = speak(_ws(args), args.project, " ".join(args.text), out=args.out)
    emit(args, result.to_dict())
    return 0


# --------------------------------------------------------------------------- worker

def cmd_worker(args: argparse.Namespace) -> int:
    from kroma_kit.copilot.worker import WorkerOptions, new_worker_id, run_worker

    options = WorkerOptions(once=args.once, drain=args.drain, project=args.project,
                            poll_interval_s=args.poll_interval, max_locked_seconds=args.max_locked_seconds,
                            max_attempts=args.max_attempts, retry_backoff_s=args.retry_backoff,
                            worker_id=args.worker_id or new_worker_id())
    stop = threading.Event()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: stop.set())

    def finished(item: Any) -> None:
        if not args.json:
            print(f"{item.id[:8]} {item.instruction_type}/{item.action}: {item.status}"
                  + (f" ({item.last_error})" if item.status == "failed" else ""), file=sys.stderr, flush=True)

    try:
        stats = run_worker(_ws(args), options, stop=stop, on_finish=finished)
    except KeyboardInterrupt:
        print("worker stopped", file=sys.stderr)
        return 130
    data = {"worker_id": options.worker_id, **stats.__dict__}
    if args.json:
        print_json(data)
    else:
        print_table([data], list(data))
    return 0
