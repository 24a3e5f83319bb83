//! Workflows: the JSON format, validation against the caller's skills,
//! planning into parallel levels and execution of built-in nodes.
