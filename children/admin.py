"""No Django admin for the register: records change only through children.services,
so that every change keeps the register's rules and is audited."""
