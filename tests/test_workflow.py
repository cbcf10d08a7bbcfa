"""The transition table, exhaustively, without a database."""

import itertools

import pytest

from hotline.workorders import workflow
from hotline.workorders.workflow import TRANSITIONS, Role, Status, WorkflowError, check

ALL = list(itertools.product(TRANSITIONS, list(Status), list(Role)))


@pytest.mark.parametrize("t,status,role", [(t, s, r) for t, s, r in ALL if s in t.sources and r in t.roles],
                         ids=lambda v: getattr(v, "action", None) or str(v))
def test_every_legal_transition_is_allowed(t, status, role):
    assert check(t.action, status, role) is t
    assert t.leads_to(status) == (t.target or status)


@pytest.mark.parametrize("t,status,role", [(t, s, r) for t, s, r in ALL if s not in t.sources or r not in t.roles],
                         ids=lambda v: getattr(v, "action", None) or str(v))
def test_every_illegal_transition_is_refused_in_chinese(t, status, role):
    with pytest.raises(WorkflowError) as error:
        check(t.action, status, role)
    message = str(error.value)
    assert t.label in message
    assert ("不能执行" in message) if status not in t.sources else ("无权执行" in message)


def test_the_diagram_of_design_md_is_in_the_table():
    edges = {(s, t.target) for t in TRANSITIONS if t.target for s in t.sources}
    expected = {
        (Status.RECEIVED, Status.AWAITING_CALLBACK), (Status.RECEIVED, Status.CLOSED),
        (Status.RECEIVED, Status.MERGED), (Status.RECEIVED, Status.AWAITING_DISPATCH),
        (Status.AWAITING_DISPATCH, Status.DISPATCHED), (Status.DISPATCHED, Status.HANDLING),
        (Status.HANDLING, Status.REPLIED), (Status.REPLIED, Status.AWAITING_CALLBACK),
        (Status.REPLIED, Status.HANDLING), (Status.HANDLING, Status.RETURN_REQUESTED),
        (Status.DISPATCHED, Status.RETURN_REQUESTED), (Status.RETURN_REQUESTED, Status.AWAITING_DISPATCH),
        (Status.RETURN_REQUESTED, Status.HANDLING), (Status.HANDLING, Status.SUSPENDED),
        (Status.SUSPENDED, Status.HANDLING), (Status.AWAITING_CALLBACK, Status.CLOSED),
        (Status.AWAITING_CALLBACK, Status.HANDLING),
    }
    assert expected <= edges


def test_terminal_states_are_left_only_by_facts():
    """A merged order is never left; a closed one only by ``reopen`` (a repeat within the repeat
    window, under the "reopen" policy: actions.repeat_closed)."""
    for t in TRANSITIONS:
        if t.target is not None and t.action != "reopen":
            assert not (t.sources & workflow.TERMINAL), t.action
    reopen = workflow.BY_ACTION["reopen"]
    assert reopen.sources == {Status.CLOSED} and reopen.needs_note


def test_every_state_is_reachable_from_received():
    reached, frontier = {Status.RECEIVED}, [Status.RECEIVED]
    while frontier:
        state = frontier.pop()
        for t in TRANSITIONS:
            if state in t.sources and t.target and t.target not in reached:
                reached.add(t.target)
                frontier.append(t.target)
    assert reached == set(Status)


def test_units_act_only_through_their_assignment():
    for t in TRANSITIONS:
        if Role.HANDLER in t.roles and t.action != "annotate":
            assert t.scope != workflow.UnitScope.NONE or t.action == "resume", t.action


def test_allowed_lists_what_a_handler_can_do_in_handling():
    actions = {t.action for t in workflow.allowed(Status.HANDLING, Role.HANDLER)}
    assert {"reply", "request_return", "request_extension", "request_suspension", "co_sign", "co_reply"} <= actions
    assert "dispatch" not in actions and "approve_reply" not in actions


def test_unknown_action_is_a_clear_error():
    with pytest.raises(WorkflowError, match="未知的操作"):
        check("teleport", Status.RECEIVED, Role.OPERATOR)


def test_markdown_lists_every_action():
    text = workflow.as_markdown()
    for t in TRANSITIONS:
        assert f"`{t.action}`" in text


def test_docs_workflow_md_shows_the_table_of_the_code():
    from pathlib import Path

    doc = (Path(__file__).parent.parent / "docs" / "workflow.md").read_text("utf-8")
    start = doc.index("<!-- generated from hotline/workorders/workflow.py: TRANSITIONS -->\n")
    end = doc.index("<!-- end of generated table -->")
    assert doc[start:end].split("\n", 1)[1] == workflow.as_markdown()
