"""A fake AdminClient for the ACL and SCRAM ports: an in-memory cluster that can refuse."""

from __future__ import annotations

from concurrent.futures import Future
from typing import Any

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import (
    AclBinding,
    AclBindingFilter,
    ResourcePatternType,
    ResourceType,
    ScramCredentialInfo,
    UserScramCredentialAlteration,
    UserScramCredentialDeletion,
    UserScramCredentialsDescription,
    UserScramCredentialUpsertion,
)


def done(value: Any) -> Future[Any]:
    future: Future[Any] = Future()
    future.set_result(value)
    return future


def failed(code: int, text: str) -> Future[Any]:
    future: Future[Any] = Future()
    future.set_exception(KafkaException(KafkaError(code, text)))
    return future


class FakeAdmin:
    """Holds bindings and SCRAM users; `refuse` names principals or users it refuses."""

    def __init__(
        self,
        bindings: set[AclBinding] | None = None,
        users: dict[str, list[ScramCredentialInfo]] | None = None,
        *,
        refuse: set[str] | None = None,
        down: bool = False,
    ) -> None:
        self.bindings = set(bindings or ())
        self.users = dict(users or {})
        self.refuse = refuse or set()
        self.down = down
        self.created: list[AclBinding] = []
        self.deleted: list[AclBinding] = []
        self.upserts: list[UserScramCredentialUpsertion] = []
        self.deletions: list[UserScramCredentialDeletion] = []
        self.calls: list[str] = []
        self.timeouts: list[float | None] = []  # each request's request_timeout

    def _called(self, name: str, kwargs: dict[str, Any]) -> None:
        self.calls.append(name)
        self.timeouts.append(kwargs.get("request_timeout"))

    def _unreachable(self) -> Future[Any]:
        return failed(KafkaError._TRANSPORT, "Local: Broker transport failure")

    def describe_acls(self, acl_binding_filter: AclBindingFilter, **kwargs: Any) -> Future[Any]:
        self._called("describe_acls", kwargs)
        assert acl_binding_filter.restype == ResourceType.ANY, "reads every ACL"
        if self.down:
            return self._unreachable()
        return done(sorted(self.bindings, key=str))

    def create_acls(self, acls: list[AclBinding], **kwargs: Any) -> dict[AclBinding, Future[Any]]:
        self._called("create_acls", kwargs)
        out = {}
        for binding in acls:
            if binding.principal in self.refuse:
                out[binding] = failed(
                    KafkaError.CLUSTER_AUTHORIZATION_FAILED, "Broker: Cluster authorization failed"
                )
                continue
            self.bindings.add(binding)
            self.created.append(binding)
            out[binding] = done(None)
        return out

    def delete_acls(
        self, acl_binding_filters: list[AclBindingFilter], **kwargs: Any
    ) -> dict[AclBindingFilter, Future[Any]]:
        self._called("delete_acls", kwargs)
        out = {}
        for flt in acl_binding_filters:
            assert flt.resource_pattern_type in {
                ResourcePatternType.LITERAL,
                ResourcePatternType.PREFIXED,
            }, "deletes must use exact filters"
            matched = [b for b in self.bindings if _exact(flt, b)]
            self.bindings -= set(matched)
            self.deleted.extend(matched)
            out[flt] = done(matched)
        return out

    def describe_user_scram_credentials(
        self, users: list[str] | None = None, **kwargs: Any
    ) -> Future[Any] | dict[str, Future[Any]]:
        self._called("describe_user_scram_credentials", kwargs)
        assert users is None, "describes every user"
        if self.down:
            return self._unreachable()
        return done(
            {u: UserScramCredentialsDescription(u, infos) for u, infos in self.users.items()}
        )

    def alter_user_scram_credentials(
        self, alterations: list[UserScramCredentialAlteration], **kwargs: Any
    ) -> dict[str, Future[Any]]:
        self._called("alter_user_scram_credentials", kwargs)
        out: dict[str, Future[Any]] = {}
        for change in alterations:
            if change.user in self.refuse:
                out[change.user] = failed(
                    KafkaError.UNSUPPORTED_SASL_MECHANISM, "Broker: Unsupported SASL mechanism"
                )
                continue
            if isinstance(change, UserScramCredentialUpsertion):
                self.upserts.append(change)
                self.users[change.user] = [change.scram_credential_info]
            elif isinstance(change, UserScramCredentialDeletion):
                self.deletions.append(change)
                infos = [
                    i for i in self.users.get(change.user, []) if i.mechanism != change.mechanism
                ]
                if infos:
                    self.users[change.user] = infos
                else:
                    self.users.pop(change.user, None)
            out[change.user] = done(None)
        return out


def _exact(flt: AclBindingFilter, binding: AclBinding) -> bool:
    return (
        flt.restype == binding.restype
        and flt.name == binding.name
        and flt.resource_pattern_type == binding.resource_pattern_type
        and flt.principal == binding.principal
        and flt.host == binding.host
        and flt.operation == binding.operation
        and flt.permission_type == binding.permission_type
    )
