package airlock.authz

import data.airlock.lib

# Contractors see at most 50 rows per query.
max_rows := 50 if lib.in_group(input.principal, "contractors")
