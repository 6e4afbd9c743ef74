"""Create or edit a context: name, model, system text, files, blocks and breakpoints.

The editor works on a draft (a list of blocks and a map of breakpoints) and shows, as it
changes, every problem that would stop it being sent and every caching warning. Saving
writes it to the store in a worker and closes the screen with the saved context.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Header, Input, Label, OptionList, Select, Static, TextArea
from textual.widgets.option_list import Option

from promptcache_tui.core.context import (
    MAX_BREAKPOINTS,
    SECTION_RANK,
    Block,
    Breakpoint,
    Context,
    ContextError,
    check_context,
    validate_name,
)
from promptcache_tui.core.request import block_tokens
from promptcache_tui.core.tokens import estimate_text
from promptcache_tui.ui.errors import one_line
from promptcache_tui.ui.services import services
from promptcache_tui.ui.store_work import run_store_op

if TYPE_CHECKING:
    from promptcache_tui.core.catalog import Catalog

REFRESH_DELAY = 0.2  # typing in the system text refreshes the block list after a pause
_tokens = lru_cache(maxsize=64)(estimate_text)


@lru_cache(maxsize=32)
def _draft_tokens(blocks: tuple[Block, ...]) -> list[int]:
    # Keyed by the blocks (their texts hash once): typing elsewhere re-estimates nothing.
    return block_tokens(Context(name="draft", blocks=blocks))


class BlocksList(OptionList):
    """The draft's blocks in prompt order; its keys edit blocks and breakpoints."""

    PALETTE = True  # the command palette offers these bindings too
    # Out of the footer (the line under the list says them; help and the palette list them).
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "b",
            "screen.toggle_breakpoint",
            "Breakpoint",
            show=False,
            id="editor.toggle_breakpoint",
            tooltip="Add a 5m breakpoint after the highlighted block, or remove its breakpoint",
        ),
        Binding(
            "t",
            "screen.toggle_ttl",
            "5m/1h",
            show=False,
            id="editor.toggle_ttl",
            tooltip="Switch the highlighted block's breakpoint between 5m and 1h",
        ),
        Binding(
            "left_square_bracket",
            "screen.move_breakpoint(-1)",
            "Breakpoint up",
            key_display="[",
            show=False,
            id="editor.breakpoint_up",
            tooltip="Move the highlighted block's breakpoint to the block before it",
        ),
        Binding(
            "right_square_bracket",
            "screen.move_breakpoint(1)",
            "Breakpoint down",
            key_display="]",
            show=False,
            id="editor.breakpoint_down",
            tooltip="Move the highlighted block's breakpoint to the block after it",
        ),
        Binding(
            "shift+up",
            "screen.move_block(-1)",
            "Block up",
            show=False,
            id="editor.block_up",
            tooltip="Move the highlighted block up (its breakpoint goes with it)",
        ),
        Binding(
            "shift+down",
            "screen.move_block(1)",
            "Block down",
            show=False,
            id="editor.block_down",
            tooltip="Move the highlighted block down (its breakpoint goes with it)",
        ),
        Binding(
            "delete,x",
            "screen.remove_block",
            "Remove block",
            show=False,
            id="editor.remove_block",
            tooltip="Remove the highlighted block and its breakpoint",
        ),
    ]


@dataclass
class FileRead(Message):
    """A file was read for a new document block."""

    path: Path
    text: str


@dataclass
class EditorSaved(Message):
    """The draft is stored."""

    context: Context


class ContextEditorScreen(Screen[Context | None]):
    """Edit a context (or create one when given None); dismissed with the saved context."""

    CSS_PATH = "../styles/editor.tcss"
    AUTO_FOCUS = "#ctx-name"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+g", "save", "Save", id="editor.save"),
        Binding("escape", "cancel", "Cancel", id="editor.cancel"),
        Binding("ctrl+f", "add_file", "Add file", id="editor.add_file"),
        Binding("ctrl+l", "focus_blocks", "Blocks", id="editor.focus_blocks"),
    ]

    def __init__(
        self,
        ctx: Context | None,
        catalog: Catalog,
        *,
        default_model: str,
        taken: Iterable[str] = (),
    ) -> None:
        super().__init__()
        self.original = ctx
        self.catalog = catalog
        self.taken = set(taken)
        self.blocks: list[Block] = list(ctx.blocks) if ctx else []
        self.marks: dict[int, str] = {bp.block: bp.ttl for bp in ctx.breakpoints} if ctx else {}
        self.model = ctx.model if ctx else default_model
        self._syncing = False
        self._pending: Timer | None = None

    # -- layout --------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header()
        ctx = self.original
        models = self.catalog.names()
        if self.model not in models:
            models = [self.model, *models]
        system = self._system_index()
        with Horizontal(id="editor-body"):
            with VerticalScroll(id="editor-form"):
                yield Label("Name", classes="field-label")
                yield Input(ctx.name if ctx else "", placeholder="e.g. my-docs", id="ctx-name")
                yield Label("Model", classes="field-label")
                yield Select(
                    [(m, m) for m in models], value=self.model, allow_blank=False, id="ctx-model"
                )
                yield Label("System text (instructions, sent first)", classes="field-label")
                yield TextArea(
                    self.blocks[system].text if system is not None else "",
                    soft_wrap=True,
                    id="ctx-system",
                )
                yield Label(
                    "Add a file (Enter adds it as a block)",
                    classes="field-label",
                )
                yield Input(placeholder="path/to/file.md", id="ctx-file")
            with Vertical(id="editor-blocks"):
                yield Label("Blocks in prompt order", classes="pane-title")
                yield BlocksList(id="blocks")
                yield Static(
                    "b breakpoint · t 5m/1h · [ ] move breakpoint · "
                    "shift+↑/↓ move block · del remove",
                    id="editor-help",
                )
                yield Static("", id="editor-problems")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.sub_title = f"edit {self.original.name}" if self.original else "new context"
        self._refresh()

    # -- the draft -------------------------------------------------------------------------

    def _system_index(self) -> int | None:
        """The block the system-text field edits: the first system block."""
        return next((i for i, b in enumerate(self.blocks) if b.kind == "system"), None)

    def draft(self, name: str | None = None) -> Context:
        """The context as edited so far."""
        if name is None:
            name = self.query_one("#ctx-name", Input).value.strip()
        base = self.original or Context(name=name)
        return base.with_changes(
            name=name,
            model=self.model,
            blocks=tuple(self.blocks),
            breakpoints=tuple(
                Breakpoint(block=i, ttl=ttl)  # type: ignore[arg-type]
                for i, ttl in sorted(self.marks.items())
            ),
        )

    def _insert(self, index: int, block: Block) -> None:
        self.blocks.insert(index, block)
        self.marks = {(i + 1 if i >= index else i): ttl for i, ttl in self.marks.items()}

    def _remove(self, index: int) -> None:
        del self.blocks[index]
        self.marks = {
            (i - 1 if i > index else i): ttl for i, ttl in self.marks.items() if i != index
        }

    def _highlighted(self) -> int | None:
        index = self.query_one(BlocksList).highlighted
        return index if index is not None and 0 <= index < len(self.blocks) else None

    # -- showing it ----------------------------------------------------------------------

    def _block_tokens(self) -> list[int]:
        """Each block's estimated tokens as the request renders it (see `block_tokens`)."""
        return _draft_tokens(tuple(self.blocks))

    def _refresh(self) -> None:
        """Rebuild the block list and the problems; keep the highlight."""
        self._pending = None
        blocks = self.query_one(BlocksList)
        keep = blocks.highlighted
        tokens = self._block_tokens()
        # A breakpoint's prefix is everything up to its block: it moves with nothing after it.
        prefix = list(itertools.accumulate(tokens))
        options = []
        for i, block in enumerate(self.blocks):
            parts: list[str | tuple[str, str]] = [
                (f"{i + 1}. {block.label()}", "bold"),
                (f" · {tokens[i]:,} tok", "$text-muted"),
            ]
            if i in self.marks:
                parts.append(
                    (
                        f"\n   ◆ {self.marks[i]} breakpoint · prefix ~{prefix[i]:,}",
                        "bold $text-accent",
                    )
                )
            options.append(Option(Content.assemble(*parts)))
        blocks.clear_options()
        blocks.add_options(options)
        if options:
            blocks.highlighted = min(keep or 0, len(options) - 1)
        self.query_one("#editor-problems", Static).update(self._problems_text(sum(tokens)))

    def _problems_text(self, total: int) -> Content:
        draft = self.draft(name="draft")
        lines: list[tuple[str, str]] = [
            (
                f"{len(self.blocks)} blocks · ~{total:,} tokens · "
                f"{len(self.marks)}/{MAX_BREAKPOINTS} breakpoints",
                "$text-muted",
            )
        ]
        problems = check_context(draft)
        lines += [(f"✗ {problem}", "bold $text-error") for problem in problems]
        if not self.marks and self.blocks:
            lines.append(("! no breakpoint: nothing will be cached (b adds one)", "$text-warning"))
        if not problems and self.marks:
            from promptcache_tui.core.advisor import breakpoint_warnings, day_of

            today = day_of(services(self).wall_now())  # the app's clock (injected in tests)
            for position, found in enumerate(
                breakpoint_warnings(draft, self.catalog, model=self.model, today=today)
            ):
                lines += [
                    (f"! #{position + 1}: {warning.message}", "$text-warning") for warning in found
                ]
        return Content("\n").join(Content.styled(text, style) for text, style in lines)

    def _schedule_refresh(self) -> None:
        if self._pending is not None:
            self._pending.stop()
        self._pending = self.set_timer(REFRESH_DELAY, self._refresh)

    # -- form events -----------------------------------------------------------------------

    @on(TextArea.Changed, "#ctx-system")
    def _system_changed(self, event: TextArea.Changed) -> None:
        if self._syncing:
            return
        text = event.text_area.text
        index = self._system_index()
        if index is None:
            if not text.strip():
                return
            # A new system block goes after any tool definitions.
            position = sum(1 for b in self.blocks if b.kind == "tools")
            self._insert(position, Block(kind="system", text=text))
        else:
            self.blocks[index] = replace(self.blocks[index], text=text)
        self._schedule_refresh()

    @on(Select.Changed, "#ctx-model")
    def _model_changed(self, event: Select.Changed) -> None:
        if isinstance(event.value, str):
            self.model = event.value
            self._refresh()

    @on(Input.Submitted, "#ctx-file")
    def _file_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        raw = event.value.strip()
        if raw:
            self.read_file(Path(raw).expanduser())

    @on(Input.Submitted, "#ctx-name")
    def _name_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.focus_next()

    @work(exclusive=True, group="editor-file", exit_on_error=False)
    async def read_file(self, path: Path) -> None:
        """Read a text file off the event loop."""
        import asyncio

        from promptcache_tui.documents import read_text_file

        try:
            text = await asyncio.to_thread(read_text_file, path)
        except Exception as exc:
            self.notify(one_line(exc), title="Cannot add the file", severity="error")
            return
        self.post_message(FileRead(path, text))

    def on_file_read(self, message: FileRead) -> None:
        # Documents go after tools and system text, before example turns.
        position = sum(1 for b in self.blocks if SECTION_RANK[b.section] <= 1)
        self._insert(position, Block(kind="document", text=message.text, name=message.path.name))
        if not self.marks:
            self.marks[position] = "5m"  # a first document gets a breakpoint: it is the point
        self.query_one("#ctx-file", Input).value = ""
        self._refresh()
        self.query_one(BlocksList).highlighted = position
        self.notify(f"Added {message.path.name} (~{_tokens(message.text):,} tokens).")

    # -- block and breakpoint actions ------------------------------------------------------

    def action_toggle_breakpoint(self) -> None:
        """Add a 5m breakpoint after the highlighted block, or remove its breakpoint."""
        index = self._highlighted()
        if index is None:
            return
        if index in self.marks:
            del self.marks[index]
        elif len(self.marks) >= MAX_BREAKPOINTS:
            self.notify(
                f"At most {MAX_BREAKPOINTS} breakpoints: the API refuses a fifth.", severity="error"
            )
            return
        elif not self.blocks[index].text.strip():
            self.notify("An empty block cannot carry a breakpoint.", severity="error")
            return
        else:
            self.marks[index] = "5m"
        self._refresh()

    def action_toggle_ttl(self) -> None:
        """Switch the highlighted block's breakpoint between 5m and 1h."""
        index = self._highlighted()
        if index is None:
            return
        if index not in self.marks:
            self.notify("This block has no breakpoint (b adds one).", severity="warning")
            return
        self.marks[index] = "1h" if self.marks[index] == "5m" else "5m"
        self._refresh()

    def action_move_breakpoint(self, step: int) -> None:
        """Move the highlighted block's breakpoint to the previous or next block."""
        index = self._highlighted()
        if index is None:
            return
        if index not in self.marks:
            self.notify("This block has no breakpoint (b adds one).", severity="warning")
            return
        target = index + step
        if not 0 <= target < len(self.blocks):
            self.app.bell()
            return
        if target in self.marks:
            self.notify(f"Block {target + 1} already has a breakpoint.", severity="warning")
            return
        self.marks[target] = self.marks.pop(index)
        self._refresh()
        self.query_one(BlocksList).highlighted = target

    def action_move_block(self, step: int) -> None:
        """Move the highlighted block up or down (its breakpoint goes with it)."""
        index = self._highlighted()
        if index is None:
            return
        target = index + step
        if not 0 <= target < len(self.blocks):
            self.app.bell()
            return
        self.blocks[index], self.blocks[target] = self.blocks[target], self.blocks[index]
        mark_here, mark_there = self.marks.pop(index, None), self.marks.pop(target, None)
        if mark_here:
            self.marks[target] = mark_here
        if mark_there:
            self.marks[index] = mark_there
        self._sync_system_text()
        self._refresh()
        self.query_one(BlocksList).highlighted = target

    def action_remove_block(self) -> None:
        """Remove the highlighted block and its breakpoint."""
        index = self._highlighted()
        if index is None:
            return
        removed = self.blocks[index]
        self._remove(index)
        self._sync_system_text()
        self._refresh()
        self.notify(f"Removed {removed.label()}.")

    def _sync_system_text(self) -> None:
        """Show the (possibly different) first system block in the system-text field."""
        index = self._system_index()
        area = self.query_one("#ctx-system", TextArea)
        text = self.blocks[index].text if index is not None else ""
        if area.text != text:
            self._syncing = True
            area.load_text(text)
            self.call_after_refresh(setattr, self, "_syncing", False)

    def action_add_file(self) -> None:
        """Focus the file field."""
        self.query_one("#ctx-file", Input).focus()

    def action_focus_blocks(self) -> None:
        """Focus the block list (its keys edit breakpoints)."""
        self.query_one(BlocksList).focus()

    # -- save / cancel -------------------------------------------------------------------

    def action_save(self) -> None:
        """Validate the draft and store it."""
        name = self.query_one("#ctx-name", Input).value.strip()
        try:
            validate_name(name)
        except ContextError as exc:
            self.notify(str(exc), title="Cannot save", severity="error")
            self.query_one("#ctx-name", Input).focus()
            return
        if name in self.taken:
            self.notify(
                f"A context named {name!r} already exists.", title="Cannot save", severity="error"
            )
            return
        index = self._system_index()
        if index is not None and not self.blocks[index].text.strip() and index not in self.marks:
            self._remove(index)  # an emptied system text means no system block
        draft = self.draft(name)
        problems = check_context(draft)
        if problems:
            self.notify(problems[0], title="Cannot save", severity="error")
            self._refresh()
            return
        self.save(draft)

    def save(self, draft: Context) -> None:
        """Write the draft to the store (in a worker); the screen closes once it is stored."""
        is_new = self.original is None
        run_store_op(
            self,
            lambda store: store.contexts.add(draft) if is_new else store.contexts.save(draft),
            failure="Cannot save",
            done=EditorSaved,
            group="editor-save",
        )

    def on_editor_saved(self, message: EditorSaved) -> None:
        self.dismiss(message.context)

    def _dirty(self) -> bool:
        draft = self.draft()
        if self.original is None:
            return bool(draft.name or draft.blocks)
        original = self.original
        return (draft.name, draft.model, draft.blocks, set(draft.breakpoints)) != (
            original.name,
            original.model,
            original.blocks,
            set(original.breakpoints),
        )

    def action_cancel(self) -> None:
        """Close without saving (asks first when something changed)."""
        if not self._dirty():
            self.dismiss(None)
            return
        from promptcache_tui.ui.screens.confirm import ConfirmDialog

        def answered(yes: bool | None) -> None:
            if yes:
                self.dismiss(None)

        self.app.push_screen(
            ConfirmDialog("Discard changes?", "The edits are not saved.", yes="Discard"), answered
        )
