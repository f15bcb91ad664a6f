from .address import (
    HOSTS_PER_REGION,
    AllocationCursor,
    Continent,
    Country,
    DeviceType,
    Host,
    HostStatus,
    Region,
    RegionStatus,
    ip_to_int,
)
from .audit import ActorType, AuditLog
from .comments import Comment
from .jobs import ExportJob, IdempotencyRecord, JobStatus
from .quotas import UserQuota

__all__ = [
    "HOSTS_PER_REGION",
    "ActorType",
    "AllocationCursor",
    "AuditLog",
    "Comment",
    "Continent",
    "Country",
    "DeviceType",
    "ExportJob",
    "Host",
    "HostStatus",
    "IdempotencyRecord",
    "JobStatus",
    "Region",
    "RegionStatus",
    "UserQuota",
    "ip_to_int",
]
