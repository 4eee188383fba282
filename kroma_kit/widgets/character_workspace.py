"""CharacterWorkspace: one character's image workspace (seed 004) in a notebook or Voilà page.

Character picker and profile form; the reference panel, whose prompt box is pre-filled from the
character's data and stays the artist's (a new suggestion never overwrites what they typed: it
appears beside it, with a button to accept it); the portfolio panel (pick a reference card,
start the 360° turnaround, watch its progress); the image grid (thumbnail, kind, prompt,
created, status) with delete behind a confirmation. Every button calls a ``kroma_kit.characters``
function that the ``kroma character`` CLI also calls; generation runs on a worker thread.
"""

from __future__ import annotations

import threading
from typing import Any

import ipywidgets as widgets

from kroma_kit.errors import InputError
from kroma_kit.widgets._common import BackgroundTask, Panel, UiDispatcher, button, esc
from kroma_kit.workspace import Workspace

PROVIDERS = ("local", "openai", "character_library")
IDENTITY_FIELDS = ("hair", "eyes", "skin", "build", "outfit")


class CharacterWorkspace(Panel):
    """``select(code)``, ``save_profile()``, ``suggest()`` / ``accept_suggestion()``,
    ``generate_reference()``, ``start_portfolio()``, ``generate_scene()``, ``wait()``,
    ``request_delete(image_id)`` / ``confirm_delete()``; ``images`` holds the grid's records."""

    def __init__(self, ws: Workspace | None = None, *, project: str | None = None, code: str | None = None) -> None:
        super().__init__(ws, project=project)
        self.code: str | None = None
        self.task: BackgroundTask | None = None
        self.images: list[Any] = []
        self.suggested: str | None = None
        self.pending_delete: str | None = None
        self._filling = False  # True while the panel itself writes the prompt box
        self.prompt_edited = False
        self.picker = widgets.Dropdown(description="Character", options=[])
        self.picker.add_class("kk-char-picker")
        self.picker.observe(lambda change: change["new"] and self.select(change["new"]), names="value")
        self.new_code = widgets.Text(placeholder="new code, e.g. hero", layout=widgets.Layout(width="180px"))
        self.create_button = button("Create", "kk-char-create", tooltip="Create a character with this code")
        self.create_button.on_click(self.action(self.create_from_form))
        self.name = widgets.Text(description="Name")
        self.bio = widgets.Textarea(description="Bio", rows=2, layout=widgets.Layout(width="95%"))
        self.identity = {field: widgets.Text(description=field.capitalize()) for field in IDENTITY_FIELDS}
        self.colors = widgets.Text(description="Colours", placeholder="#b2946a, #3e3632")
        self.must_keep = widgets.Text(description="Must keep", placeholder="comma-separated")
        self.never = widgets.Text(description="Never", placeholder="comma-separated")
        self.save_button = button("Save profile", "kk-char-save", style="primary")
        self.save_button.on_click(self.action(self.save_profile))

        self.prompt = widgets.Textarea(description="Prompt", rows=5, layout=widgets.Layout(width="95%"))
        self.prompt.add_class("kk-char-prompt")
        self.prompt.observe(self._on_prompt_typed, names="value")
        self.suggestion = widgets.HTML()
        self.suggestion.add_class("kk-char-suggestion")
        self.suggest_button = button("AI Suggest Prompt", "kk-char-suggest", tooltip="A new suggestion, shown beside")
        self.suggest_button.on_click(self.action(self.suggest))
        self.accept_button = button("Use suggestion", "kk-char-accept")
        self.accept_button.on_click(self.action(self.accept_suggestion))
        self.accept_button.layout.display = "none"
        self.candidates = widgets.BoundedIntText(description="Candidates", min=1, max=16, value=1)
        self.provider = widgets.Dropdown(description="Provider", options=list(PROVIDERS), value="local")
        self.confirm = widgets.Checkbox(description="Confirm spend (paid providers)", value=False, indent=False)
        self.reference_button = button("Generate reference", "kk-char-reference", style="success")
        self.reference_button.on_click(self.action(self.generate_reference))

        self.reference_cards = widgets.RadioButtons(description="Reference", options=[])
        self.reference_cards.add_class("kk-char-ref-cards")
        self.extra_views = widgets.Text(description="Extra views", placeholder="smile, running")
        self.portfolio_button = button("Start portfolio", "kk-char-portfolio", style="success")
        self.portfolio_button.on_click(self.action(self.start_portfolio))
        self.scene_context = widgets.Text(description="Scene", placeholder="what happens, where")
        self.scene_button = button("Generate scene", "kk-char-scene")
        self.scene_button.on_click(self.action(self.generate_scene))
        self.progress = widgets.IntProgress(value=0, min=0, max=1, description="Progress")
        self.progress.add_class("kk-char-progress")

        self.grid = widgets.HTML()
        self.grid.add_class("kk-char-grid")
        self.delete_choice = widgets.Dropdown(description="Image", options=[])
        self.delete_button = button("Delete…", "kk-char-delete", style="danger")
        self.delete_button.on_click(self.action(lambda: self.request_delete(self.delete_choice.value)))
        self.confirm_text = widgets.HTML()
        self.confirm_yes = button("Yes, delete", "kk-char-delete-yes", style="danger")
        self.confirm_yes.on_click(self.action(self.confirm_delete))
        self.confirm_no = button("Keep it", "kk-char-delete-no")
        self.confirm_no.on_click(self.action(self.cancel_delete))
        self.confirm_box = widgets.HBox([self.confirm_text, self.confirm_yes, self.confirm_no])
        self.confirm_box.layout.display = "none"

        self.widget = widgets.VBox([
            widgets.HBox([self.picker, self.new_code, self.create_button]),
            widgets.HTML("<b>Profile</b>"), widgets.HBox([self.name]), self.bio,
            widgets.HBox([self.identity["hair"], self.identity["eyes"], self.identity["skin"]]),
            widgets.HBox([self.identity["build"], self.identity["outfit"]]),
            widgets.HBox([self.colors, self.must_keep, self.never]), self.save_button,
            widgets.HTML("<b>Reference</b>"), self.prompt,
            widgets.HBox([self.suggest_button, self.accept_button]), self.suggestion,
            widgets.HBox([self.candidates, self.provider, self.confirm]), self.reference_button,
            widgets.HTML("<b>Portfolio and scenes</b>"), self.reference_cards,
            widgets.HBox([self.extra_views, self.portfolio_button]), widgets.HBox([self.scene_context,
                                                                                     self.scene_button]),
            self.progress, self.status,
            widgets.HTML("<b>Images</b>"), self.grid, widgets.HBox([self.delete_choice, self.delete_button]),
            self.confirm_box,
        ])
        self.widget.add_class("kk-character-workspace")
        if project:
            from kroma_kit.characters.adopt import adopt_manifest_characters

            adopt_manifest_characters(self.ws, project)  # opening a project brings its manifest characters in
            self.reload(code)

    # ------------------------------------------------------------------ loading

    def reload(self, code: str | None = None) -> None:
        from kroma_kit.characters.profiles import list_characters

        codes = [c.code for c in list_characters(self.ws, self.require_project())]
        wanted = code or self.code or (codes[0] if codes else None)
        self.picker.options = codes
        if wanted in codes:
            if self.picker.value == wanted:
                self.select(wanted)
            else:
                self.picker.value = wanted  # observer selects

    def select(self, code: str) -> None:
        """Show character ``code``: profile, pre-filled prompt (unless the artist typed), images."""
        from kroma_kit.characters.overview import prompt_for
        from kroma_kit.characters.profiles import get_character

        character = get_character(self.ws, self.require_project(), code)
        changed = code != self.code
        self.code = code
        self.name.value, self.bio.value = character.name, character.bio
        for field, box in self.identity.items():
            box.value = getattr(character.identity, field)
        self.colors.value = ", ".join(character.identity.signature_colors)
        self.must_keep.value = ", ".join(character.identity.must_keep)
        self.never.value = ", ".join(character.identity.never)
        if changed:
            self.prompt_edited = False
            self.suggested = None
            self._show_suggestion()
        if not self.prompt_edited:
            self._fill_prompt(prompt_for(self.ws, self.project or "", code).prompt)
        self.refresh_images()

    def refresh_images(self) -> None:
        from kroma_kit.characters.images import best_reference, list_character_images

        if not self.code:
            return
        self.images = list_character_images(self.ws, self.require_project(), self.code)
        self.grid.value = self._grid_html()
        self.delete_choice.options = [(f"{i.kind} {i.view or ''} {i.created_at[:19]}".strip(), i.id)
                                      for i in self.images]
        references = [(f"{i.created_at[:19]} · {i.provider}", i.id) for i in self.images
                      if i.kind == "reference" and i.status == "succeeded"]
        best = best_reference(self.ws, self.require_project(), self.code)
        self.reference_cards.options = references
        if best is not None and best.id in [value for _, value in references]:
            self.reference_cards.value = best.id

    def _grid_html(self) -> str:
        from kroma_kit.storage.thumbnails import thumbnail_data_url

        cards = []
        for image in self.images:
            try:
                thumb = f"<img src='{thumbnail_data_url(image.path, image.sha256, size=128, home=self.ws.home)}'>" \
                    if image.path is not None else "<i>no file</i>"
            except Exception:  # noqa: BLE001 - a moved file must not break the grid
                thumb = "<i>missing</i>"
            cards.append(
                f"<div class='kk-char-card' data-kind='{esc(image.kind)}' data-status='{esc(image.status)}' "
                "style='display:inline-block;width:150px;margin:4px;vertical-align:top;font-size:11px'>"
                f"{thumb}<br><b>{esc(image.kind)}</b> {esc(image.view or '')}<br>{esc(image.status)} · "
                f"{esc(image.created_at[:19])}<br><span title='{esc(image.prompt)}'>{esc(image.prompt[:60])}</span>"
                f"<br><code>{esc(image.id[:8])}</code></div>")
        return "".join(cards) or "<p><i>no images yet</i></p>"

    # ------------------------------------------------------------------ profile

    def create_from_form(self) -> None:
        from kroma_kit.characters.profiles import create_character

        character = create_character(self.ws, self.require_project(), self.new_code.value.strip(),
                                     self.new_code.value.strip())
        self.new_code.value = ""
        self.set_status(f"Created character {character.code}.", "ok")
        self.reload(character.code)

    def save_profile(self) -> None:
        from kroma_kit.characters.profiles import update_character

        code = self._require_code()
        identity: dict[str, Any] = {field: box.value for field, box in self.identity.items()}
        identity["signature_colors"] = _split(self.colors.value)
        identity["must_keep"] = _split(self.must_keep.value)
        identity["never"] = _split(self.never.value)
        update_character(self.ws, self.require_project(), code, name=self.name.value, bio=self.bio.value,
                         identity=identity, replace_identity=True)
        self.set_status(f"Saved {code}.", "ok")
        self.select(code)

    # ------------------------------------------------------------------ prompt

    def _fill_prompt(self, text: str) -> None:
        self._filling = True
        try:
            self.prompt.value = text
        finally:
            self._filling = False

    def _on_prompt_typed(self, _change: Any) -> None:
        if not self._filling:
            self.prompt_edited = True

    def suggest(self, *, endpoint: Any = None, transport: Any = None) -> str:
        """A new suggestion (chat model when configured, else the template), shown beside the
        prompt box; it replaces the box only when the artist has not typed in it."""
        from kroma_kit.characters.overview import prompt_for

        suggestion = prompt_for(self.ws, self.require_project(), self._require_code(), use_chat=True,
                                endpoint=endpoint, transport=transport)
        if self.prompt_edited:
            self.suggested = suggestion.prompt
        else:
            self._fill_prompt(suggestion.prompt)
            self.suggested = None
        self._show_suggestion(suggestion.source, suggestion.fallback_reason)
        return suggestion.prompt

    def _show_suggestion(self, source: str = "", reason: str | None = None) -> None:
        if self.suggested:
            self.suggestion.value = (f"<div class='kk-char-suggested'><i>Suggestion ({esc(source)}):</i> "
                                     f"{esc(self.suggested)}</div>")
            self.accept_button.layout.display = None
        else:
            note = f"<i>from {esc(source)}</i>" + (f" ({esc(reason)})" if reason else "") if source else ""
            self.suggestion.value = note
            self.accept_button.layout.display = "none"

    def accept_suggestion(self) -> None:
        if not self.suggested:
            return
        self._fill_prompt(self.suggested)
        self.prompt_edited = False
        self.suggested = None
        self._show_suggestion()

    # ------------------------------------------------------------------ generation

    def _run(self, kind: str, **fields: Any) -> BackgroundTask:
        from kroma_kit.characters.generation import CharacterRunRequest, generate_character_images

        if self.task is not None and self.task.running:
            raise InputError("A generation is already running in this panel; wait for it to finish.")
        request = CharacterRunRequest(project=self.require_project(), code=self._require_code(), kind=kind,
                                      candidates=self.candidates.value, provider=self.provider.value, **fields)
        confirm = self.confirm.value
        self.progress.value, self.progress.max = 0, 1
        self.set_status(f"Generating {kind} …")

        def work(cancel: threading.Event, ui: UiDispatcher) -> Any:
            def on_event(event: Any) -> None:
                if event.kind == "planned":
                    total = max(1, event.candidates_to_run)
                    ui.post(lambda: setattr(self.progress, "max", total))
                elif event.kind == "candidate_done":
                    ui.post(lambda: setattr(self.progress, "value", self.progress.value + 1))
            return generate_character_images(self.ws, request, confirm_spend=confirm, on_event=on_event,
                                             cancel=cancel)

        self.task = BackgroundTask(work, on_done=self._finished, name="kroma-character").start()
        return self.task

    def _finished(self, task: BackgroundTask) -> None:
        if task.error is not None:
            self.show_error(task.error)
        else:
            result = task.result
            level = "warn" if result.failures else "ok"
            self.set_status(f"Run {result.summary.run_id[:8]}: {len(result.images)} image(s)"
                            + (f"; failed: {'; '.join(result.failures)}" if result.failures else ""), level)
        self.refresh_images()

    def generate_reference(self) -> BackgroundTask:
        return self._run("reference", prompt=self.prompt.value)

    def start_portfolio(self) -> BackgroundTask:
        return self._run("portfolio", reference_image_id=self.reference_cards.value or None,
                         extra_views=_split(self.extra_views.value))

    def generate_scene(self) -> BackgroundTask:
        return self._run("scene", reference_image_id=self.reference_cards.value or None,
                         scene_context=self.scene_context.value)

    def wait(self, timeout: float | None = 120) -> Any:
        """Block until the running generation ends (applying UI updates); return its result."""
        if self.task is None:
            return None
        try:
            return self.task.wait(timeout)
        except Exception:  # noqa: BLE001 - already shown in the status line by _finished
            return None

    # ------------------------------------------------------------------ delete

    def request_delete(self, image_id: str | None) -> None:
        """First step: ask for confirmation; nothing is archived yet."""
        if not image_id:
            raise InputError("Pick an image to delete.")
        image = next(i for i in self.images if i.id == image_id)
        self.pending_delete = image_id
        self.confirm_text.value = (f"Delete this {esc(image.kind)} ({esc(image.id[:8])})? The file moves to the "
                                   "archive; a Character Library reference is also deleted remotely.")
        self.confirm_box.layout.display = None

    def cancel_delete(self) -> None:
        self.pending_delete = None
        self.confirm_box.layout.display = "none"

    def confirm_delete(self) -> Any:
        from kroma_kit.characters.images import delete_character_image

        if not self.pending_delete:
            raise InputError("Nothing to delete: press Delete… first.")
        image = delete_character_image(self.ws, self.require_project(), self._require_code(), self.pending_delete)
        self.cancel_delete()
        remote = image.remote_delete
        self.set_status(f"Deleted {image.kind} {image.id[:8]} (archived at {image.archived_path})"
                        + (f"; remote delete {'ok' if remote.get('ok') else 'failed: ' + str(remote.get('error'))}"
                           if remote.get("attempted") else ""), "ok")
        self.refresh_images()
        return image

    def _require_code(self) -> str:
        if not self.code:
            raise InputError("No character selected: pick one or create one.")
        return self.code


def _split(text: str) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]
