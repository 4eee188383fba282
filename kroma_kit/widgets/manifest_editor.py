"""ManifestEditor: see what the next run will use (scene, style and character refs as
thumbnails, the stage prompts) and change refs and prompts safely.

The artist's question is "what will the model get?", so the editor shows the *resolved*
manifest (defaults < app settings < the project's file), not the raw file. Problems are shown
inline exactly as the pipeline would raise them: :func:`~kroma_kit.config.resolve_project_settings`
for the schema (messages name file and key) and :func:`~kroma_kit.project_setup.check_manifest_files`
for refs that are missing or not images. Saving a prompt goes through
:func:`~kroma_kit.manifest_edit.publish_prompt`: a new catalog version and the manifest file
rewritten atomically, so the history and the next run agree.

Ref edits (Add, Upload, Remove) collect in a draft shown with its thumbnails; "Save refs" writes the
draft through :func:`~kroma_kit.manifest_edit.update_manifest`, the same call as
``kroma manifest set-refs``, so a ref the CLI refuses is refused here too, inline.

Upload exists because the kernel may run on another machine (remote JupyterLab, Voilà): a path
the artist types names a file on the kernel's disk, not theirs. Uploaded bytes go through
:func:`~kroma_kit.manifest_edit.import_ref_bytes`, the same checks and naming as a copied file.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import ipywidgets as widgets

from kroma_kit.config import STAGES, ProjectSettings
from kroma_kit.errors import ConfigError, InputError, KromaError
from kroma_kit.settings_models import Manifest
from kroma_kit.widgets._common import Panel, button, close_tree, describe_error, esc
from kroma_kit.workspace import Workspace

REF_FIELDS = (("scene_refs", "Scenes"), ("style_refs", "Style references"), ("character_refs", "Characters"))
KIND_OF_FIELD = {"scene_refs": "scene", "style_refs": "style", "character_refs": "character"}
THUMB_WIDTH = "128px"


class ManifestEditor(Panel):
    """Refs with thumbnails, one text box per stage prompt, inline validation.

    ``prompt_boxes[name]`` / ``save_buttons[name]`` are prompt ``name``'s Textarea and Save
    button; ``save_prompt(name)`` saves it; ``validate()`` returns the problems shown in ``errors``.
    Refs: ``ref_kind`` + ``ref_path`` + ``add_ref_button`` add one to ``draft_refs``,
    ``ref_upload`` (a FileUpload) adds the uploaded images of ``ref_kind``,
    ``remove_buttons[(field, ref)]`` drop one, ``save_refs_button`` writes the draft
    (methods ``add_ref``, ``upload_refs``, ``remove_ref``, ``save_refs``, ``revert_refs`` do the
    same from Python).
    """

    def __init__(self, ws: Workspace | None = None, *, project: str | None = None) -> None:
        super().__init__(ws, project=project)
        self.resolved: ProjectSettings | None = None
        self.problems: list[str] = []
        self.prompt_boxes: dict[str, widgets.Textarea] = {}
        self.prompt_versions: dict[str, widgets.HTML] = {}
        self.save_buttons: dict[str, widgets.Button] = {}
        self.draft_refs: dict[str, list[str]] = {field: [] for field, _title in REF_FIELDS}
        self.remove_buttons: dict[tuple[str, str], widgets.Button] = {}
        self.header = widgets.HTML()
        self.errors = widgets.HTML()
        self.errors.add_class("kk-errors")
        self.refs_box = widgets.VBox()
        self.prompts_box = widgets.VBox()
        self.reload_button = button("Reload", "kk-reload")
        self.validate_button = button("Validate", "kk-validate")
        self.reload_button.on_click(self.action(self.reload))
        self.validate_button.on_click(self.action(self.validate))
        self.refs_title = widgets.HTML("<b>References</b>")
        self.ref_kind = widgets.Dropdown(options=[("Scene", "scene"), ("Style", "style"),
                                                  ("Character", "character")], value="scene",
                                         layout=widgets.Layout(width="120px"))
        self.ref_path = widgets.Text(placeholder="image path: in the project, or a file to copy into it",
                                     layout=widgets.Layout(width="420px"))
        self.ref_path.add_class("kk-ref-path")
        self.ref_upload = widgets.FileUpload(accept="image/*", multiple=True, description="Upload",
                                             tooltip="Upload images from this computer into the draft refs")
        self.ref_upload.add_class("kk-ref-upload")
        self.ref_upload.observe(self._on_upload, names="value")
        self.add_ref_button = button("Add", "kk-add-ref", tooltip="Add this image to the draft refs")
        self.save_refs_button = button("Save refs", "kk-save-refs", style="primary",
                                       tooltip="Write the draft refs to the manifest")
        self.revert_refs_button = button("Revert", "kk-revert-refs", tooltip="Drop unsaved ref changes")
        self.add_ref_button.on_click(self.action(lambda: self.add_ref()))
        self.save_refs_button.on_click(self.action(self.save_refs))
        self.revert_refs_button.on_click(self.action(self.revert_refs))
        self.widget = widgets.VBox([
            self.header, widgets.HBox([self.reload_button, self.validate_button]), self.errors,
            self.refs_title, self.refs_box,
            widgets.HBox([self.ref_kind, self.ref_upload, self.ref_path, self.add_ref_button,
                          self.save_refs_button, self.revert_refs_button]),
            widgets.HTML("<b>Prompts</b> (saving makes a new version and updates the manifest)"),
            self.prompts_box, self.status,
        ])
        self.widget.add_class("kk-manifest-editor")
        if project:
            self.reload()

    # ------------------------------------------------------------------ actions

    def reload(self) -> None:
        """Re-read the manifest from disk and rebuild refs, prompts and problems."""
        root = self._root()
        self.validate()
        source = self.resolved.manifest_file if self.resolved else None
        self.header.value = (f"<b>Manifest</b> of <code>{esc(self.require_project())}</code>: "
                             f"<code>{esc(source or 'built-in defaults (no manifest file yet)')}</code>")
        old = self.prompts_box.children
        self.draft_refs = {field: list(getattr(self.resolved.manifest, field)) if self.resolved else []
                           for field, _title in REF_FIELDS}
        self._show_refs(root, dirty=False)
        self.prompts_box.children = self._prompt_rows() if self.resolved else (
            widgets.HTML("<i>Fix the manifest problems above to edit prompts.</i>"),)
        for widget in old:
            close_tree(widget)

    def validate(self) -> list[str]:
        """Run the pipeline's own checks; show and return the problems (empty when valid)."""
        from kroma_kit.config import resolve_project_settings
        from kroma_kit.project_setup import check_manifest_files

        root = self._root()
        try:
            self.resolved = resolve_project_settings(root)
        except ConfigError as exc:
            self.resolved = None
            self.problems = [str(exc)]
        else:
            self.problems = check_manifest_files(self.resolved)
        if self.problems:
            items = "".join(f"<li>{esc(p)}</li>" for p in self.problems)
            self.errors.value = f"<div style='color:#b42318'><b>Manifest problems</b><ul>{items}</ul></div>"
        elif self.resolved is not None and not self.resolved.manifest.scene_refs:
            self.errors.value = ("<span style='color:#1b7f3b'>Manifest valid.</span> "
                                 "<span class='kk-manifest-note'>No scenes yet (one job is made per scene): "
                                 "choose <b>Scene</b>, upload or type an image path, <b>Add</b>, then "
                                 "<b>Save refs</b>.</span>")
        else:
            self.errors.value = "<span style='color:#1b7f3b'>Manifest valid: every ref is a readable image.</span>"
        return list(self.problems)

    def set_prompt(self, name: str, text: str) -> None:
        """Put ``text`` in prompt ``name``'s box (not saved until :meth:`save_prompt`)."""
        self._box(name).value = text

    def save_prompt(self, name: str, text: str | None = None) -> int:
        """Save prompt ``name`` (the box's text, or ``text``); returns the new version number."""
        from kroma_kit.manifest_edit import publish_prompt

        box = self._box(name)
        if text is not None:
            box.value = text
        version = publish_prompt(self.ws, self.require_project(), name, box.value)
        self.validate()
        self._show_version(name)
        self.set_status(f"Saved prompt '{name}' as version {version}; the manifest now uses it.", "ok")
        return version

    def add_ref(self, kind: str | None = None, path: str | None = None) -> str:
        """Add an image to the draft ``kind`` refs (default: the dropdown and the path box).

        A path in the project (relative to its root, or absolute under it) is used as it is; a
        file elsewhere is first copied into the project's folder for that kind, so the project
        never depends on a file it does not own. Returns the ref as the manifest will store it.
        """
        from kroma_kit.manifest_edit import import_ref_file, normalise_ref, ref_field

        kind = kind or self.ref_kind.value
        field = ref_field(kind)
        text = (path if path is not None else self.ref_path.value).strip()
        if not text:
            raise InputError("Type the path of an image file to add.")
        root = self._root()
        given = Path(text).expanduser()
        if given.is_absolute() and not given.resolve().is_relative_to(root.resolve()):
            ref = import_ref_file(self.ws, self.require_project(), kind, given)
        else:
            ref = normalise_ref(root, field, text)
        self._append_draft(root, field, ref)
        self.ref_path.value = ""
        self._show_refs(root, dirty=True)
        self.set_status(f"Added {ref} to {field}; click 'Save refs' to write the manifest.", "info")
        return ref

    def upload_refs(self, files: Sequence[Mapping[str, Any]], kind: str | None = None) -> list[str]:
        """Add uploaded images to the draft ``kind`` refs (default: the dropdown).

        ``files`` is a FileUpload value: dicts with ``name`` and ``content``. Each file is
        checked and copied into the project's folder for that kind on its own, so one bad file
        does not stop the rest; the refused ones are named in the status line (and
        ``last_error``). Returns the refs added, as the manifest will store them.
        """
        from kroma_kit.manifest_edit import import_ref_bytes, ref_field

        kind = kind or self.ref_kind.value
        field = ref_field(kind)
        root = self._root()
        slug = self.require_project()
        added: list[str] = []
        refused: list[str] = []
        for file in files:
            name = str(file.get("name") or "upload")
            try:
                ref = import_ref_bytes(self.ws, slug, kind, name, bytes(file["content"]))
                self._append_draft(root, field, ref)
            except (KromaError, OSError) as exc:
                message = describe_error(exc)
                refused.append(message if name in message else f"{name}: {message}")
            else:
                added.append(ref)
        if added:
            self._show_refs(root, dirty=True)
        done = (f"Added {', '.join(added)} to {field}; click 'Save refs' to write the manifest."
                if added else "No upload added.")
        if refused:
            self.set_status(f"{done} Refused: " + "; ".join(refused), "error")
        else:
            self.set_status(done, "info")
        return added

    def remove_ref(self, kind_or_field: str, ref: str) -> None:
        """Drop ``ref`` from the draft (``scene`` or ``scene_refs``); the file itself stays."""
        from kroma_kit.manifest_edit import ref_field

        field = kind_or_field if kind_or_field in self.draft_refs else ref_field(kind_or_field)
        if ref not in self.draft_refs[field]:
            raise InputError(f"{field}: {ref!r} is not in the draft refs.")
        self.draft_refs[field].remove(ref)
        self._show_refs(self._root(), dirty=True)
        self.set_status(f"Removed {ref} from {field}; click 'Save refs' to write the manifest.", "info")

    def save_refs(self) -> Manifest:
        """Write the draft refs that changed to the manifest (checked in full first), then reload."""
        from kroma_kit.manifest_edit import update_manifest

        if self.resolved is None:
            raise KromaError("The manifest did not load; fix the problems above before editing refs.")
        changed = {field: refs for field, refs in self.draft_refs.items()
                   if refs != list(getattr(self.resolved.manifest, field))}
        if not changed:
            self.set_status("No ref changes to save.", "info")
            return self.resolved.manifest
        manifest = update_manifest(self.ws, self.require_project(), **changed)
        self.reload()
        counts = ", ".join(f"{len(getattr(manifest, field))} {field}" for field in changed)
        self.set_status(f"Saved refs to the manifest ({counts}).", "ok")
        return manifest

    def revert_refs(self) -> None:
        """Forget unsaved ref changes: reload refs and prompts from the manifest file."""
        self.reload()
        self.set_status("Ref changes reverted to the manifest file.", "info")

    # ------------------------------------------------------------------ building blocks

    def _on_upload(self, change: dict[str, Any]) -> None:
        """Handle a browser upload, then empty the widget so the same file can be sent again."""
        if not change["new"]:
            return  # our own reset below
        files = change["new"]
        try:
            self.action(lambda: self.upload_refs(files))()
        finally:
            self.ref_upload.value = ()

    def _append_draft(self, root: Path, field: str, ref: str) -> None:
        """Append ``ref`` to the draft ``field`` unless that file is already listed there."""
        from kroma_kit.project_setup import resolve_ref

        target = resolve_ref(root, ref).resolve()
        if any(resolve_ref(root, other).resolve() == target for other in self.draft_refs[field]):
            raise InputError(f"{field}: {ref!r} is already listed; each ref may appear once.")
        self.draft_refs[field].append(ref)

    def _root(self) -> Path:
        from kroma_kit.catalog.projects import get_project

        return Path(get_project(self.ws, self.require_project())["root"])

    def _box(self, name: str) -> widgets.Textarea:
        if name not in self.prompt_boxes:
            known = ", ".join(self.prompt_boxes) or "none (the manifest did not load)"
            raise KromaError(f"No prompt named {name!r} in this manifest. Known prompts: {known}.")
        return self.prompt_boxes[name]

    def _show_refs(self, root: Path, *, dirty: bool) -> None:
        old = self.refs_box.children
        self.remove_buttons = {}
        self.refs_box.children = self._ref_rows(root) if self.resolved else ()
        for widget in old:
            close_tree(widget)
        self.refs_title.value = "<b>References</b>" + (
            " <span style='color:#9a6700'>(unsaved changes: click 'Save refs')</span>" if dirty else "")

    def _ref_rows(self, root: Path) -> tuple[widgets.Widget, ...]:
        from kroma_kit.project_setup import resolve_ref

        rows: list[widgets.Widget] = []
        for field, title in REF_FIELDS:
            refs = self.draft_refs[field]
            cards = [self._ref_card(ref, resolve_ref(root, ref), field) for ref in refs]
            body: widgets.Widget = widgets.HBox(cards, layout=widgets.Layout(flex_flow="row wrap")) if cards \
                else widgets.HTML("<i>none</i>")
            rows.append(widgets.VBox([widgets.HTML(f"{esc(title)} ({len(refs)})"), body]))
        return tuple(rows)

    def _ref_card(self, ref: str, path: Path, field: str) -> widgets.Widget:
        from kroma_kit.storage.thumbnails import thumbnail_bytes, thumbnail_cache_dir

        caption = widgets.HTML(f"<small><code>{esc(ref)}</code></small>")
        try:
            data = thumbnail_bytes(path, cache_dir=thumbnail_cache_dir(self.ws.home))
        except KromaError as exc:
            picture: widgets.Widget = widgets.HTML(
                f"<div style='width:{THUMB_WIDTH};color:#b42318'><small>{esc(exc)}</small></div>")
        else:
            picture = widgets.Image(value=data, format="webp", layout=widgets.Layout(width=THUMB_WIDTH))
            picture.add_class("kk-ref-thumb")
        remove = button("Remove", f"kk-remove-{KIND_OF_FIELD[field]}-ref", tooltip=f"Remove {ref} from {field}")
        remove.on_click(self.action(lambda: self.remove_ref(field, ref)))
        self.remove_buttons[(field, ref)] = remove
        return widgets.VBox([picture, caption, remove], layout=widgets.Layout(margin="0 8px 8px 0"))

    def _prompt_rows(self) -> tuple[widgets.Widget, ...]:
        assert self.resolved is not None
        prompts = self.resolved.manifest.prompts
        self.prompt_boxes, self.prompt_versions, self.save_buttons = {}, {}, {}
        rows: list[widgets.Widget] = []
        for stage in STAGES:
            names = sorted(name for name in prompts if name.split("_", 1)[0] == stage)
            for name in names:
                rows.append(self._prompt_row(name, prompts[name]))
        return tuple(rows)

    def _prompt_row(self, name: str, text: str) -> widgets.Widget:
        box = widgets.Textarea(value=text, rows=2, layout=widgets.Layout(width="100%"))
        box.add_class(f"kk-prompt-{name}")
        version = widgets.HTML()
        save = button("Save", f"kk-save-{name}", tooltip=f"Save {name} as a new version")
        save.on_click(self.action(lambda: self.save_prompt(name)))
        self.prompt_boxes[name] = box
        self.prompt_versions[name] = version
        self.save_buttons[name] = save
        self._show_version(name)
        return widgets.VBox([widgets.HBox([widgets.HTML(f"<code>{esc(name)}</code>"), version, save]), box])

    def _show_version(self, name: str) -> None:
        from kroma_kit.catalog.prompts import prompt_history

        history: list[dict[str, Any]] = prompt_history(self.ws, self.require_project(), name)
        label = self.prompt_versions.get(name)
        if label is not None:
            label.value = (f"<small>version {history[0]['version']} of {len(history)}</small>" if history
                           else "<small>from the manifest (no saved versions)</small>")
