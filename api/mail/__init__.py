"""The email channel: SMTP/LMTP intake, mailbox polling, parsing and threading."""
