/*
 * attach.c - host mount pipeline (placeholder until the data path issue).
 */
#include "common/log.h"
