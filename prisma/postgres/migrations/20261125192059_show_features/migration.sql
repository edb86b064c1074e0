-- AlterTable
ALTER TABLE "QueueEntry" ADD COLUMN     "eligibility" TEXT,
ADD COLUMN     "labels" TEXT,
ADD COLUMN     "predictionsLockedAt" TIMESTAMP(3),
ADD COLUMN     "rejectReason" TEXT;

-- AlterTable
ALTER TABLE "Submission" ADD COLUMN     "remote" BOOLEAN NOT NULL DEFAULT false;

-- CreateTable
CREATE TABLE "Device" (
    "token" TEXT NOT NULL,
    "nickname" TEXT NOT NULL,
    "remote" BOOLEAN NOT NULL DEFAULT false,
    "banned" BOOLEAN NOT NULL DEFAULT false,
    "bannedReason" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastSeenAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Device_pkey" PRIMARY KEY ("token")
);

-- CreateTable
CREATE TABLE "Vote" (
    "id" SERIAL NOT NULL,
    "queueEntryId" INTEGER NOT NULL,
    "deviceToken" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Vote_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ChatEvent" (
    "id" TEXT NOT NULL,
    "receivedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "type" TEXT NOT NULL,
    "displayName" TEXT NOT NULL,
    "userId" TEXT,
    "isBot" BOOLEAN NOT NULL DEFAULT false,
    "text" TEXT NOT NULL,
    "outcome" TEXT NOT NULL,
    "reason" TEXT,

    CONSTRAINT "ChatEvent_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ShowSetting" (
    "key" TEXT NOT NULL,
    "value" TEXT NOT NULL,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "ShowSetting_pkey" PRIMARY KEY ("key")
);

-- CreateTable
CREATE TABLE "Prediction" (
    "id" SERIAL NOT NULL,
    "queueEntryId" INTEGER NOT NULL,
    "deviceToken" TEXT NOT NULL,
    "guess" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "scoredAt" TIMESTAMP(3),

    CONSTRAINT "Prediction_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ScoreEvent" (
    "id" SERIAL NOT NULL,
    "deviceToken" TEXT NOT NULL,
    "points" INTEGER NOT NULL,
    "reason" TEXT NOT NULL,
    "prNumber" INTEGER,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ScoreEvent_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "MergeAttempt" (
    "id" SERIAL NOT NULL,
    "prNumber" INTEGER NOT NULL,
    "headSha" TEXT NOT NULL,
    "maintainer" TEXT NOT NULL,
    "method" TEXT NOT NULL,
    "outcome" TEXT NOT NULL,
    "githubStatus" INTEGER,
    "message" TEXT NOT NULL,
    "response" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "MergeAttempt_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ResultComment" (
    "prNumber" INTEGER NOT NULL,
    "commentId" TEXT NOT NULL,
    "url" TEXT,
    "headSha" TEXT NOT NULL,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "ResultComment_pkey" PRIMARY KEY ("prNumber")
);

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

-- AddForeignKey
ALTER TABLE "Vote" ADD CONSTRAINT "Vote_queueEntryId_fkey" FOREIGN KEY ("queueEntryId") REFERENCES "QueueEntry"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Prediction" ADD CONSTRAINT "Prediction_queueEntryId_fkey" FOREIGN KEY ("queueEntryId") REFERENCES "QueueEntry"("id") ON DELETE CASCADE ON UPDATE CASCADE;
