//! Keyboard shortcuts of the workbench, decided from a key event's fields
//! so that the mapping is testable without a browser.
//!
//! | keys | action |
//! |---|---|
//! | Delete, Backspace | delete the selection |
//! | Ctrl+Z | undo |
//! | Ctrl+Shift+Z, Ctrl+Y | redo |
//! | Ctrl+Enter | run the workflow |
//! | Ctrl+S | save the workflow |
//! | Ctrl+A | select every node |
//! | Escape | cancel the gesture, clear the selection |
//! | F | fit the workflow to the view |
//!
//! Cmd replaces Ctrl on macOS. While a text field has the focus, only
//! Ctrl+S and Ctrl+Enter act (the field keeps its own undo, deletion and
//! select-all); Ctrl+Enter in the chat box sends the message instead,
//! which the chat box handles itself.

/// What a key press asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shortcut {
    Delete,
    Undo,
    Redo,
    Run,
    Save,
    SelectAll,
    Escape,
    Fit,
}

/// The fields of a `keydown` event that matter here.
#[derive(Debug, Clone, Copy, Default)]
pub struct KeyPress<'a> {
    /// `KeyboardEvent.key`.
    pub key: &'a str,
    pub ctrl: bool,
    pub meta: bool,
    pub shift: bool,
    pub alt: bool,
    /// Focus is in an `input`, `textarea`, `select` or editable element.
    pub in_text_field: bool,
}

pub fn shortcut(k: KeyPress<'_>) -> Option<Shortcut> {
    let command = k.ctrl || k.meta;
    if k.alt {
        return None;
    }
    let key = k.key.to_ascii_lowercase();
    if command {
        return match key.as_str() {
            "s" => Some(Shortcut::Save),
            "enter" => Some(Shortcut::Run),
            _ if k.in_text_field => None,
            "z" if k.shift => Some(Shortcut::Redo),
            "z" => Some(Shortcut::Undo),
            "y" => Some(Shortcut::Redo),
            "a" => Some(Shortcut::SelectAll),
            _ => None,
        };
    }
    if k.in_text_field {
        return None;
    }
    match key.as_str() {
        "delete" | "backspace" => Some(Shortcut::Delete),
        "escape" => Some(Shortcut::Escape),
        "f" if !k.shift => Some(Shortcut::Fit),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(key: &str) -> KeyPress<'_> {
        KeyPress {
            key,
            ..KeyPress::default()
        }
    }

    #[test]
    fn the_documented_keys_map_to_their_actions() {
        let ctrl = |key| KeyPress {
            ctrl: true,
            ..press(key)
        };
        assert_eq!(shortcut(press("Delete")), Some(Shortcut::Delete));
        assert_eq!(shortcut(press("Backspace")), Some(Shortcut::Delete));
        assert_eq!(shortcut(ctrl("z")), Some(Shortcut::Undo));
        assert_eq!(
            shortcut(KeyPress {
                shift: true,
                ..ctrl("Z")
            }),
            Some(Shortcut::Redo)
        );
        assert_eq!(shortcut(ctrl("y")), Some(Shortcut::Redo));
        assert_eq!(shortcut(ctrl("Enter")), Some(Shortcut::Run));
        assert_eq!(
            shortcut(KeyPress {
                meta: true,
                ..press("s")
            }),
            Some(Shortcut::Save)
        );
        assert_eq!(shortcut(press("f")), Some(Shortcut::Fit));
        assert_eq!(shortcut(press("x")), None);
        assert_eq!(
            shortcut(KeyPress {
                alt: true,
                ..ctrl("z")
            }),
            None
        );
    }

    #[test]
    fn text_fields_keep_their_own_editing_keys() {
        let typing = |key, ctrl| KeyPress {
            key,
            ctrl,
            in_text_field: true,
            ..KeyPress::default()
        };
        assert_eq!(shortcut(typing("Backspace", false)), None);
        assert_eq!(shortcut(typing("z", true)), None);
        assert_eq!(shortcut(typing("a", true)), None);
        assert_eq!(shortcut(typing("f", false)), None);
        assert_eq!(shortcut(typing("s", true)), Some(Shortcut::Save));
        assert_eq!(shortcut(typing("Enter", true)), Some(Shortcut::Run));
    }
}
