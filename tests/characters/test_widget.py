"""The CharacterWorkspace panel driven like an artist would, offline: pick, edit, suggest (never
over what was typed), generate a reference and a portfolio with progress, delete with a
confirmation."""

from __future__ import annotations

from kroma_kit.characters import images, profiles
from kroma_kit.widgets.character_workspace import CharacterWorkspace
from tests.fakes.openai_chat_server import ChatReply, FakeChatServer


def test_picker_profile_and_prompt_prefill(workspace, chars_project):
    panel = CharacterWorkspace(workspace, project="demo")
    assert list(panel.picker.options) == ["courier", "detective"] and panel.code == "courier"
    assert panel.colors.value == "#2c7a96, #c8342e, #e6b428"
    assert "chest-to-mid-thigh crop" in panel.prompt.value and not panel.prompt_edited
    panel.picker.value = "detective"
    assert panel.name.value == "The Detective" and "The Detective" in panel.prompt.value
    panel.identity["eyes"].value = "grey"
    panel.colors.value = "#b2946a, #000"
    panel.save_profile()
    saved = profiles.get_character(workspace, "demo", "detective")
    assert saved.identity.eyes == "grey" and saved.identity.signature_colors == ["#b2946a", "#000000"]
    panel.colors.value = "not-a-colour"
    panel.action(panel.save_profile)()
    assert "signature_colors" in panel.last_error  # shown inline, nothing saved
    assert profiles.get_character(workspace, "demo", "detective").identity.signature_colors[1] == "#000000"


def test_a_suggestion_never_overwrites_what_the_artist_typed(workspace, chars_project):
    panel = CharacterWorkspace(workspace, project="demo")
    panel.prompt.value = "My own prompt, half written"
    with FakeChatServer() as fake:
        fake.script(ChatReply.json({"prompt": "A model prompt for the courier"}))
        from kroma_kit.characters.prompting import ChatEndpoint

        panel.suggest(endpoint=ChatEndpoint(fake.base_url, "m"))
    assert panel.prompt.value == "My own prompt, half written"
    assert "A model prompt for the courier" in panel.suggestion.value and panel.suggested
    assert panel.accept_button.layout.display is None
    panel.accept_suggestion()
    assert panel.prompt.value.startswith("A model prompt for the courier")
    assert not panel.prompt_edited and panel.accept_button.layout.display == "none"


def test_generate_reference_portfolio_and_delete_with_confirmation(workspace, chars_project):
    panel = CharacterWorkspace(workspace, project="demo")
    panel.prompt.value = "Courier, edited by hand"
    panel.generate_reference()
    result = panel.wait()
    assert result is not None and panel.progress.value == panel.progress.max == 1
    newest = panel.images[0]
    assert newest.prompt == "Courier, edited by hand" and "kk-char-card" in panel.grid.value
    panel.reference_cards.value = newest.id
    panel.extra_views.value = ""
    panel.start_portfolio()
    panel.wait()
    assert panel.progress.value == 6
    assert sum(1 for i in panel.images if i.kind == "portfolio_item") == 6
    assert all(i.parent_image_id == newest.id for i in panel.images if i.kind == "portfolio_item")
    victim = panel.images[0].id
    panel.request_delete(victim)
    assert panel.confirm_box.layout.display is None
    assert victim in {i.id for i in images.list_character_images(workspace, "demo", "courier")}  # not yet
    panel.cancel_delete()
    assert panel.pending_delete is None
    panel.request_delete(victim)
    deleted = panel.confirm_delete()
    assert deleted.deleted_at and victim not in {i.id for i in panel.images}
    assert "archived" in panel.status.value


def test_errors_show_inline(workspace, chars_project):
    panel = CharacterWorkspace(workspace, project="demo")
    panel.provider.value = "character_library"  # no CHARACTER_LIBRARY_API_URL in tests
    panel.generate_reference()
    panel.wait()
    assert "CHARACTER_LIBRARY_API_URL" in panel.last_error
    panel.new_code.value = "Bad Code"
    panel.action(panel.create_from_form)()
    assert "Invalid character code" in panel.last_error
