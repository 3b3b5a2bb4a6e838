"""Reading bounces and replies back from the mailbox (issue 13, the reading half).

``factory.build_reader`` turns ``[mailbox]`` into a reader (IMAP or Graph); every
poll reads it, ``classify`` says what each message is, ``intake`` ties it to one
of our own Message-IDs, and ``plan`` decides what that makes the tool do.
"""
