"""ChatPanel: talk to the copilot by text or voice, see its instruction cards, confirm or cancel
them, and follow their status live.

Every button is a method and each method calls the same :mod:`kroma_kit.copilot` function as the
CLI (``kroma chat send``, ``kroma instructions confirm|cancel``, ``kroma voice stt|tts``). An audio
upload goes through speech to text and is sent as a message; with "Speak replies" on, each
assistant reply is synthesised and played with ``ipywidgets.Audio``. ``Run queued`` drains the
queue in this kernel (the same worker as ``kroma worker --drain``) for a single-user notebook;
studios run ``kroma worker`` beside it and the cards follow either way (``watch()``).
"""

from __future__ import annotations

import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import ipywidgets as widgets

from kroma_kit.widgets._common import BackgroundTask, Panel, button, close_tree, esc
from kroma_kit.workspace import Workspace

ROLE_COLOURS = {"user": "#0b5394", "assistant": "#1b7f3b", "system": "#555", "tool": "#9a6700"}
STATUS_COLOURS = {"draft": "#9a6700", "queued": "#0b5394", "running": "#6a1b9a", "done": "#1b7f3b",
                  "failed": "#b42318", "canceled": "#555"}
TERMINAL = ("done", "failed", "canceled")


class ChatPanel(Panel):
    """``send(text)``, ``send_audio(path)``, ``confirm(id)``, ``cancel(id)``, ``run_queued()``,
    ``refresh()``; ``cards`` holds the session's instruction cards, newest last."""

    def __init__(self, ws: Workspace | None = None, *, project: str | None = None,
                 session_id: str | None = None, speak_replies: bool = False) -> None:
        super().__init__(ws, project=project)
        self.session_id = session_id
        self.cards: list[dict[str, Any]] = []
        self.messages: list[Any] = []
        self.task: BackgroundTask | None = None
        self.transcript = widgets.HTML()
        self.transcript.add_class("kk-chat-transcript")
        self.text = widgets.Text(placeholder="e.g. dry run the night stage for street", continuous_update=False,
                                 layout=widgets.Layout(width="70%"))
        self.text.add_class("kk-chat-text")
        self.send_button = button("Send", "kk-chat-send", style="primary")
        self.send_button.on_click(self.action(lambda: self.send(self.text.value)))
        self.upload = widgets.FileUpload(accept=".wav,.flac,.ogg,.mp3", multiple=False, description="Audio")
        self.upload.add_class("kk-chat-upload")
        self.upload.observe(self._on_upload, names="value")
        self.speak = widgets.Checkbox(description="Speak replies", value=speak_replies, indent=False)
        self.audio = widgets.Audio(format="wav", autoplay=True, loop=False, value=b"")
        self.audio.layout.display = "none"
        self.run_button = button("Run queued", "kk-chat-run", tooltip="run queued instructions in this kernel")
        self.run_button.on_click(self.action(self.run_queued))
        self.refresh_button = button("Refresh", "kk-chat-refresh")
        self.refresh_button.on_click(self.action(self.refresh))
        self.card_box = widgets.VBox()
        self.card_box.add_class("kk-chat-cards")
        self.widget = widgets.VBox([
            self.transcript,
            widgets.HBox([self.text, self.send_button]),
            widgets.HBox([self.upload, self.speak, self.run_button, self.refresh_button]),
            self.status, self.card_box, self.audio,
        ])
        self.widget.add_class("kk-chat-panel")
        if project:
            self.refresh()

    # ------------------------------------------------------------------ actions

    def send(self, text: str) -> Any:
        """Send ``text``; returns the chat turn (reply + any instruction)."""
        from kroma_kit.copilot.service import send_message

        turn = send_message(self.ws, self.require_project(), text, session_id=self.session_id)
        self.session_id = turn.session.id
        self.text.value = ""
        self.set_status(f"Instruction {turn.instruction.id[:8]}: {turn.instruction.status}" if turn.instruction
                        else "", "ok" if turn.instruction else "info")
        self.refresh()
        self._speak(turn.reply.text)
        return turn

    def send_audio(self, path: str | Path) -> Any:
        """Transcribe an audio file (offline by default) and send the transcript."""
        from kroma_kit.copilot.service import send_message
        from kroma_kit.copilot.voice import attach_to_message, transcribe

        heard = transcribe(self.ws, self.require_project(), path, session_id=self.session_id)
        turn = send_message(self.ws, self.require_project(), heard.text, session_id=self.session_id,
                            voice_asset_id=heard.input_asset_id)
        attach_to_message(self.ws, heard, turn.user_message)
        self.session_id = turn.session.id
        self.set_status(f"Heard: “{heard.text}” ({heard.backend}, {heard.latency_ms} ms)", "ok")
        self.refresh()
        self._speak(turn.reply.text)
        return turn

    def confirm(self, instruction_id: str) -> Any:
        from kroma_kit.copilot.service import confirm

        item = confirm(self.ws, self.require_project(), instruction_id)
        self.set_status(f"Confirmed {item.id[:8]}: queued.", "ok")
        self.refresh()
        return item

    def cancel(self, instruction_id: str) -> Any:
        from kroma_kit.copilot.service import cancel

        item = cancel(self.ws, self.require_project(), instruction_id)
        self.set_status(f"Cancel {'requested' if item.status == 'running' else 'done'} for {item.id[:8]}.", "ok")
        self.refresh()
        return item

    def run_queued(self) -> BackgroundTask:
        """Drain this project's queue in a background thread; the cards update as it goes."""
        from kroma_kit.copilot.worker import WorkerOptions, run_worker

        if self.task is not None and self.task.running:
            return self.task
        project = self.require_project()

        def work(cancel: threading.Event, ui: Any) -> Any:
            return run_worker(self.ws, WorkerOptions(drain=True, project=project), stop=cancel,
                              on_finish=lambda item: ui.post(self.refresh))

        self.set_status("Running queued instructions…", "info")
        self.task = BackgroundTask(work, on_done=self._worker_done, name="kroma-chat-worker").start()
        return self.task

    def run_queued_and_wait(self, timeout: float | None = 600) -> Any:
        return self.run_queued().wait(timeout)

    def watch(self, seconds: float = 120.0, interval_s: float = 1.0) -> BackgroundTask:
        """Refresh the cards until every one has finished (or ``seconds`` pass): live status while
        a separate ``kroma worker`` runs them."""
        def work(cancel: threading.Event, ui: Any) -> None:
            deadline = time.monotonic() + seconds
            while not cancel.wait(interval_s) and time.monotonic() < deadline:
                ui.post(self.refresh)
                if self.cards and all(card["status"] in TERMINAL for card in self.cards):
                    return

        return BackgroundTask(work, name="kroma-chat-watch").start()

    def _worker_done(self, task: BackgroundTask) -> None:
        if task.error is not None:
            self.show_error(task.error)
        else:
            stats = task.result
            self.set_status(f"Worker: {stats.done} done, {stats.failed} failed, {stats.canceled} canceled.",
                            "ok" if not stats.failed else "warn")
        self.refresh()

    def _on_upload(self, change: dict[str, Any]) -> None:
        files = change.get("new") or ()
        if not files:
            return
        item = files[0]
        name = item.get("name", "audio.wav") if isinstance(item, dict) else getattr(item, "name", "audio.wav")
        content = item.get("content") if isinstance(item, dict) else getattr(item, "content", b"")
        folder = Path(tempfile.mkdtemp(prefix="kroma-audio-"))
        path = folder / Path(name).name
        path.write_bytes(bytes(content))
        self.action(lambda: self.send_audio(path))()

    def _speak(self, text: str) -> None:
        if not self.speak.value or not text:
            return
        from kroma_kit.copilot.voice import speak

        try:
            result = speak(self.ws, self.require_project(), text, session_id=self.session_id)
        except Exception as exc:  # noqa: BLE001 - a reply that cannot be spoken is still shown
            self.show_error(exc)
            return
        self.audio.value = Path(result.path).read_bytes()
        self.audio.layout.display = None

    # ------------------------------------------------------------------ view

    def reload(self) -> None:
        self.refresh()

    def refresh(self) -> None:
        """Re-read the transcript and the session's instructions from the catalog."""
        from kroma_kit.catalog.chat import list_messages
        from kroma_kit.catalog.instructions import list_instructions
        from kroma_kit.copilot.service import card

        if not self.session_id:
            self.messages, self.cards = [], []
            self.transcript.value = "<p><i>Ask the copilot for work: a dry run, a run, a QA check, a clean-up.</i></p>"
            self._draw_cards()
            return
        self.messages = list_messages(self.ws, self.session_id)
        self.cards = [card(item) for item in reversed(list_instructions(self.ws, session_id=self.session_id))]
        lines = []
        for message in self.messages:
            colour = ROLE_COLOURS.get(message.role, "#333")
            voice = " 🎤" if message.voice_asset_id else ""
            lines.append(f"<div class='kk-chat-msg' data-role='{message.role}'><b style='color:{colour}'>"
                         f"{esc(message.role)}{voice}</b>: {esc(message.text)}</div>")
        self.transcript.value = "".join(lines)
        self._draw_cards()

    def _draw_cards(self) -> None:
        for child in self.card_box.children:
            close_tree(child)
        self.card_box.children = tuple(self._card_widget(card) for card in self.cards)

    def _card_widget(self, card: dict[str, Any]) -> widgets.Widget:
        colour = STATUS_COLOURS.get(card["status"], "#333")
        estimate = card.get("estimate") or {}
        lines = [f"<b>{esc(card['objective'])}</b>",
                 f"<code>{esc(card['id'][:8])}</code> {esc(card['type'])}/{esc(card['action'])} · "
                 f"<span class='kk-chat-status' data-status='{card['status']}' style='color:{colour}'>"
                 f"{esc(card['status'])}</span> · attempts {card['attempts']}"]
        if estimate:
            lines.append(f"Dry run: {estimate.get('jobs')} jobs, {estimate.get('candidates')} candidates, "
                         f"estimated ${float(estimate.get('estimated_cost_usd') or 0):.4f}")
        if card["status"] == "draft" and card.get("confirmation_reason"):
            lines.append(f"<i>Needs confirmation: {esc(card['confirmation_reason'])}</i>")
        if card.get("last_error"):
            lines.append(f"<span style='color:#b42318'>{esc(card['last_error'])}</span>")
        body = widgets.HTML("<br>".join(lines))
        controls = []
        if card["status"] == "draft":
            yes = button("Confirm", "kk-chat-confirm", style="success")
            yes.on_click(self.action(lambda ident=card["id"]: self.confirm(ident)))
            controls.append(yes)
        if card["status"] in ("draft", "queued", "running") and not card.get("cancel_requested"):
            no = button("Cancel", "kk-chat-cancel", style="warning")
            no.on_click(self.action(lambda ident=card["id"]: self.cancel(ident)))
            controls.append(no)
        box = widgets.VBox([body, widgets.HBox(controls)],
                           layout=widgets.Layout(border=f"1px solid {colour}", padding="4px", margin="2px 0"))
        box.add_class("kk-chat-card")
        return box
