-- One database per service: no service reads another's tables.
CREATE DATABASE catalogue;
CREATE DATABASE recommendation;
CREATE DATABASE checkout;
