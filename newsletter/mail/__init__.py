"""The message as it leaves the program: headers, folding, ids, tokens, placeholders."""
