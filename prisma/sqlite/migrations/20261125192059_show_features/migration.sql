-- AlterTable
ALTER TABLE "QueueEntry" ADD COLUMN "eligibility" TEXT;
ALTER TABLE "QueueEntry" ADD COLUMN "labels" TEXT;
ALTER TABLE "QueueEntry" ADD COLUMN "predictionsLockedAt" DATETIME;
ALTER TABLE "QueueEntry" ADD COLUMN "rejectReason" TEXT;

-- CreateTable
CREATE TABLE "Device" (
    "token" TEXT NOT NULL PRIMARY KEY,
    "nickname" TEXT NOT NULL,
    "remote" BOOLEAN NOT NULL DEFAULT false,
    "banned" BOOLEAN NOT NULL DEFAULT false,
    "bannedReason" TEXT,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastSeenAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- CreateTable
CREATE TABLE "Vote" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "queueEntryId" INTEGER NOT NULL,
    "deviceToken" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "Vote_queueEntryId_fkey" FOREIGN KEY ("queueEntryId") REFERENCES "QueueEntry" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "ChatEvent" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "receivedAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "type" TEXT NOT NULL,
    "displayName" TEXT NOT NULL,
    "userId" TEXT,
    "isBot" BOOLEAN NOT NULL DEFAULT false,
    "text" TEXT NOT NULL,
    "outcome" TEXT NOT NULL,
    "reason" TEXT
);

-- CreateTable
CREATE TABLE "ShowSetting" (
    "key" TEXT NOT NULL PRIMARY KEY,
    "value" TEXT NOT NULL,
    "updatedAt" DATETIME NOT NULL
);

-- CreateTable
CREATE TABLE "Prediction" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "queueEntryId" INTEGER NOT NULL,
    "deviceToken" TEXT NOT NULL,
    "guess" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "scoredAt" DATETIME,
    CONSTRAINT "Prediction_queueEntryId_fkey" FOREIGN KEY ("queueEntryId") REFERENCES "QueueEntry" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "ScoreEvent" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "deviceToken" TEXT NOT NULL,
    "points" INTEGER NOT NULL,
    "reason" TEXT NOT NULL,
    "prNumber" INTEGER,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- CreateTable
CREATE TABLE "MergeAttempt" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "prNumber" INTEGER NOT NULL,
    "headSha" TEXT NOT NULL,
    "maintainer" TEXT NOT NULL,
    "method" TEXT NOT NULL,
    "outcome" TEXT NOT NULL,
    "githubStatus" INTEGER,
    "message" TEXT NOT NULL,
    "response" TEXT,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- CreateTable
CREATE TABLE "ResultComment" (
    "prNumber" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "commentId" TEXT NOT NULL,
    "url" TEXT,
    "headSha" TEXT NOT NULL,
    "updatedAt" DATETIME NOT NULL
);

-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_Submission" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "source" TEXT NOT NULL,
    "remote" BOOLEAN NOT NULL DEFAULT false,
    "rawText" TEXT NOT NULL,
    "nickname" TEXT NOT NULL,
    "deviceToken" TEXT,
    "ip" TEXT,
    "prNumber" INTEGER,
    "outcome" TEXT NOT NULL,
    "reason" TEXT,
    "queueEntryId" INTEGER,
    CONSTRAINT "Submission_queueEntryId_fkey" FOREIGN KEY ("queueEntryId") REFERENCES "QueueEntry" ("id") ON DELETE SET NULL ON UPDATE CASCADE
);
INSERT INTO "new_Submission" ("createdAt", "deviceToken", "id", "ip", "nickname", "outcome", "prNumber", "queueEntryId", "rawText", "reason", "source") SELECT "createdAt", "deviceToken", "id", "ip", "nickname", "outcome", "prNumber", "queueEntryId", "rawText", "reason", "source" FROM "Submission";
DROP TABLE "Submission";
ALTER TABLE "new_Submission" RENAME TO "Submission";
CREATE INDEX "Submission_prNumber_idx" ON "Submission"("prNumber");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;

-- CreateIndex
CREATE UNIQUE INDEX "Vote_queueEntryId_deviceToken_key" ON "Vote"("queueEntryId", "deviceToken");

-- CreateIndex
CREATE UNIQUE INDEX "Prediction_queueEntryId_deviceToken_key" ON "Prediction"("queueEntryId", "deviceToken");

-- CreateIndex
CREATE INDEX "ScoreEvent_deviceToken_idx" ON "ScoreEvent"("deviceToken");

-- CreateIndex
CREATE UNIQUE INDEX "ScoreEvent_deviceToken_reason_prNumber_key" ON "ScoreEvent"("deviceToken", "reason", "prNumber");

-- CreateIndex
CREATE INDEX "MergeAttempt_prNumber_idx" ON "MergeAttempt"("prNumber");
