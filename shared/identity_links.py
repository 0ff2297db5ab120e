"""Identity links as each context keeps them (IdentityLinked: anonymous id -> customer).

Every context that holds data under anonymous ids needs to know, for a privacy request
about a customer, which anonymous ids were theirs. The items live in the context's own
table, in the partition of each id (`<prefix><id>`):

    <prefix><anonymous id>  sk LINKED_TO               customer_id
    <prefix><customer id>   sk ALIAS#<anonymous id>
"""

from __future__ import annotations

from shared.aws.dynamodb import DynamoTable


class IdentityLinks:
    def __init__(self, table: DynamoTable, prefix: str) -> None:
        self.table, self.prefix = table, prefix

    def link(self, anonymous_id: str, customer_id: str) -> None:
        self.table.put_many([{"pk": self.prefix + anonymous_id, "sk": "LINKED_TO", "customer_id": customer_id},
                             {"pk": self.prefix + customer_id, "sk": f"ALIAS#{anonymous_id}"}])

    def resolve(self, anonymous_id: str) -> str | None:
        found = self.table.get({"pk": self.prefix + anonymous_id, "sk": "LINKED_TO"})
        return found["customer_id"] if found else None

    def identifiers(self, subject_id: str) -> set[str]:
        """The subject and every id linked to it, whichever side of the link it is."""
        ids = {subject_id}
        customer = self.resolve(subject_id)
        if customer:
            ids.add(customer)
        for owner in list(ids):
            ids |= {i["sk"].removeprefix("ALIAS#") for i in self.table.query("pk", self.prefix + owner, sort_key_prefix="ALIAS#")}
        return ids
