"""Held-out repositories are recognised in each source's own naming."""

from wikikit.code.holdout import Holdout, repo_path


def test_every_form_of_one_repository_gives_the_same_path():
    forms = [
        "All-Hands-AI/OpenHands",
        "https://github.com/All-Hands-AI/OpenHands",
        "https://github.com/All-Hands-AI/OpenHands.git",
        "git@github.com:All-Hands-AI/OpenHands.git",
        "All-Hands-AI/OpenHands@0123abc",
    ]
    assert {repo_path(f) for f in forms} == {"all-hands-ai/openhands"}


def test_a_bare_name_holds_out_every_owner_form_and_an_owner_form_only_its_owner():
    bare = Holdout(["OpenHands"])
    assert bare.matches("All-Hands-AI/OpenHands") and bare.matches("openhands@abc")
    assert not bare.matches("juspay/hyperswitch") and not bare.matches("x/OpenHandsX")
    owned = Holdout(["All-Hands-AI/OpenHands"])
    assert owned.matches("OpenHands")  # CodeWikiBench's repo_name has no owner
    assert owned.matches("https://github.com/all-hands-ai/openhands.git")
    assert not owned.matches("someone-else/OpenHands")
    assert owned.entry_for("OpenHands") == "All-Hands-AI/OpenHands"
    assert not Holdout([]) and not Holdout([]).matches("OpenHands")
