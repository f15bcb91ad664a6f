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
from .audit import AUDIT_DAYS, ActorType, AuditDayCount, AuditLog
from .bulk import BulkJob, BulkJobStatus
from .comments import Comment
from .jobs import ExportJob, ImportJob, JobStatus
from .preferences import SavedFilter, UserPreference
from .quotas import UserQuota
from .reservations import Reservation, ReservationResourceType, ReservationStatus
from .shares import Share, ShareResourceType

__all__ = [
    "AUDIT_DAYS",
    "HOSTS_PER_REGION",
    "ActorType",
    "AllocationCursor",
    "AuditDayCount",
    "AuditLog",
    "BulkJob",
    "BulkJobStatus",
    "Comment",
    "Continent",
    "Country",
    "DeviceType",
    "ExportJob",
    "Host",
    "HostStatus",
    "ImportJob",
    "JobStatus",
    "Region",
    "RegionStatus",
    "Reservation",
    "ReservationResourceType",
    "ReservationStatus",
    "SavedFilter",
    "Share",
    "ShareResourceType",
    "UserPreference",
    "UserQuota",
    "ip_to_int",
]
